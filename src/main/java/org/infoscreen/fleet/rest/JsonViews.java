package org.infoscreen.fleet.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.util.RawValue;
import org.postgresql.util.PGobject;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Turns SQL rows (column name → JDBC value) into the JSON documents of the REST API.
 * Column names are already snake_case; times become ISO-8601 UTC strings ({@code …Z}),
 * {@code jsonb} columns are embedded as JSON, UUIDs become strings.
 */
public class JsonViews {

    private final ObjectMapper mapper;

    /** @param mapper the service's Jackson mapper */
    public JsonViews(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * @param row  one {@code clients} row, or {@code null}
     * @param uuid the requested UUID, for the 404 message
     * @return the client as a JSON object
     * @throws ApiException 404 {@code client_not_found} when {@code row} is null
     */
    public String client(Map<String, Object> row, Object uuid) {
        if (row == null || row.isEmpty()) {
            throw ApiException.clientNotFound(uuid);
        }
        return write(convert(row));
    }

    /**
     * @param row one {@code client_commands} row, or {@code null}
     * @param id  the requested command id, for the 404 message
     * @return the command as a JSON object
     * @throws ApiException 404 {@code command_not_found}
     */
    public String command(Map<String, Object> row, Object id) {
        if (row == null || row.isEmpty()) {
            throw new ApiException(404, "command_not_found", "no command with id " + id);
        }
        return write(convert(row));
    }

    /**
     * @param rows {@code client_commands} rows
     * @return {@code {"count": n, "commands": [...]}}
     */
    public String commands(List<Map<String, Object>> rows) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("count", rows.size());
        doc.put("commands", convertAll(rows));
        return write(doc);
    }

    /**
     * @param rows {@code clients} rows
     * @return {@code {"count": n, "clients": [...]}}
     */
    public String clients(List<Map<String, Object>> rows) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("count", rows.size());
        doc.put("clients", convertAll(rows));
        return write(doc);
    }

    /**
     * Fleet overview: counts per liveness state (all four states always present), the state of
     * crash auto-recovery, and the clients.
     *
     * @param summary         the one row of {@code sql/overview.sql}: {@code total} and a count per
     *                        liveness state, {@code clients} the per-client list as a JSON array
     *                        (text, built by PostgreSQL), passed through unchanged
     * @param fleetState      the {@code fleet_state} row (circuit breaker)
     * @param recoveryEnabled whether crash auto-recovery is switched on
     * @return {@code {"generated_at", "counts": {...}, "recovery": {"enabled", "paused", "paused_since", "paused_detail"}, "clients": [...]}}
     */
    public String overview(Map<String, Object> summary, Map<String, Object> fleetState, boolean recoveryEnabled) {
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("total", count(summary.get("total")));
        for (String state : new TreeMap<>(Map.of("online", 0, "crashed", 0, "stale", 0, "offline", 0)).keySet()) {
            counts.put(state, count(summary.get(state)));
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("generated_at", Instant.now().toString());
        doc.put("counts", counts);
        Map<String, Object> recovery = new LinkedHashMap<>();
        recovery.put("enabled", recoveryEnabled);
        Map<String, Object> state = fleetState == null ? Map.of() : convert(fleetState);
        // a pause left over from a run with recovery on means nothing while recovery is off
        recovery.put("paused", recoveryEnabled && Boolean.TRUE.equals(state.get("recovery_paused")));
        boolean paused = (Boolean) recovery.get("paused");
        recovery.put("paused_since", paused ? state.get("recovery_paused_since") : null);
        recovery.put("paused_detail", paused ? state.get("recovery_paused_detail") : null);
        doc.put("recovery", recovery);
        Object clients = summary.get("clients");
        doc.put("clients", new RawValue(clients == null ? "[]" : clients.toString()));
        return write(doc);
    }

    private static long count(Object n) {
        return n instanceof Number number ? number.longValue() : 0;
    }

    /**
     * One page of events, newest first.
     *
     * @param rows  up to {@code limit} rows ordered by id descending
     * @param limit page size asked for
     * @return {@code {"events": [...], "next_before_id": id|null}}; pass {@code next_before_id} as
     *         {@code before_id} to get the next (older) page
     */
    public String events(List<Map<String, Object>> rows, int limit) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("events", convertAll(rows));
        doc.put("next_before_id", rows.size() == limit && !rows.isEmpty() ? rows.get(rows.size() - 1).get("id") : null);
        return write(doc);
    }

    /**
     * @param code    stable error code
     * @param message human-readable message
     * @return {@code {"error": code, "message": message}}
     */
    public String error(String code, String message) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("error", code);
        doc.put("message", message);
        return write(doc);
    }

    /**
     * @param failure the exception caught by the REST error handler
     * @return the HTTP status: that of an {@link ApiException} in the cause chain, else 500
     */
    public int errorStatus(Throwable failure) {
        ApiException api = apiException(failure);
        return api == null ? 500 : api.status();
    }

    /**
     * @param failure the exception caught by the REST error handler
     * @return the JSON error body; for anything but an {@link ApiException} a generic
     *         {@code internal_error} that reveals nothing about the failure
     */
    public String errorBody(Throwable failure) {
        ApiException api = apiException(failure);
        if (api == null) {
            return error("internal_error", "the request could not be completed; see the service log");
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("error", api.code());
        doc.put("message", api.getMessage());
        doc.putAll(api.extra());
        return write(doc);
    }

    /**
     * @param failure the exception caught by the REST error handler
     * @return the {@code Retry-After} value in seconds, or {@code null} when there is none
     */
    public Long retryAfter(Throwable failure) {
        ApiException api = apiException(failure);
        return api == null ? null : api.retryAfterS();
    }

    private static ApiException apiException(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ApiException a) {
                return a;
            }
        }
        return null;
    }

    private List<Map<String, Object>> convertAll(List<Map<String, Object>> rows) {
        List<Map<String, Object>> out = new ArrayList<>(rows.size());
        for (Map<String, Object> row : rows) {
            out.add(convert(row));
        }
        return out;
    }

    private Map<String, Object> convert(Map<String, Object> row) {
        Map<String, Object> out = new LinkedHashMap<>();
        row.forEach((k, v) -> out.put(k.toLowerCase(), value(v)));
        return out;
    }

    private Object value(Object v) {
        if (v instanceof Timestamp ts) {
            return ts.toInstant().toString();
        }
        if (v instanceof OffsetDateTime odt) {
            return odt.withOffsetSameInstant(ZoneOffset.UTC).toInstant().toString();
        }
        if (v instanceof UUID u) {
            return u.toString();
        }
        if (v instanceof PGobject pg && pg.getValue() != null
                && ("jsonb".equals(pg.getType()) || "json".equals(pg.getType()))) {
            try {
                return mapper.readTree(pg.getValue());
            } catch (JsonProcessingException e) {
                return pg.getValue();
            }
        }
        if (v instanceof PGobject pg) {
            return pg.getValue();
        }
        return v;
    }

    private String write(Object doc) {
        try {
            return mapper.writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }
}
