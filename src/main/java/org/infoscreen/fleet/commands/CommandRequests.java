package org.infoscreen.fleet.commands;

import org.infoscreen.fleet.support.Text;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.infoscreen.fleet.rest.ApiException;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Validates {@code POST /api/clients/{uuid}/commands} bodies (DESIGN.md §4):
 * {@code {"action", "reason"?, "ttl_s"?, "force"?}}. Unknown fields are rejected so a typo
 * ({@code "forced": true}) never silently does something else.
 */
public class CommandRequests {

    /** Actions an operator may send through the commands endpoint. */
    public static final Set<String> MQTT_ACTIONS = Set.of("restart_app", "reboot_host", "shutdown_host");
    private static final Set<String> FIELDS = Set.of("action", "reason", "ttl_s", "force");
    private static final Set<String> POWER_CYCLE_FIELDS = Set.of("reason", "ttl_s", "force");
    private static final int MAX_REASON = 500;

    private final ObjectMapper mapper;
    private final int defaultTtlS;
    private final int maxTtlS;
    private final int lockoutS;

    /**
     * @param mapper      Jackson mapper
     * @param defaultTtlS time to live when the request has none, seconds
     * @param maxTtlS     largest accepted time to live, seconds
     * @param lockoutS    lockout window after a destructive command, seconds
     */
    public CommandRequests(ObjectMapper mapper, int defaultTtlS, int maxTtlS, int lockoutS) {
        this.mapper = mapper;
        this.defaultTtlS = defaultTtlS;
        this.maxTtlS = maxTtlS;
        this.lockoutS = lockoutS;
    }

    /**
     * @param body       request body (JSON object)
     * @param clientUuid the client the command is for
     * @param principal  name of the API token that asks ({@code fleetPrincipal}), recorded as {@code requested_by}
     * @return named SQL parameters of {@code create-command.sql}: {@code id} (new command id),
     *         {@code clientUuid}, {@code action}, {@code reason}, {@code ttl_s}, {@code force},
     *         {@code origin} ({@code manual}), {@code requested_by}, {@code lockout_s}
     * @throws ApiException 400 {@code invalid_body}, {@code unknown_action}, {@code invalid_ttl}
     */
    public Map<String, Object> parse(String body, UUID clientUuid, String principal) {
        JsonNode json = read(body, false);
        var names = json.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new ApiException(400, "invalid_body", "unknown field '" + Text.abbreviate(name) + "'; allowed: " + FIELDS.stream().sorted().toList());
            }
        }
        JsonNode action = json.get("action");
        if (action == null || !action.isTextual()) {
            throw new ApiException(400, "unknown_action", "\"action\" is required, one of " + MQTT_ACTIONS.stream().sorted().toList());
        }
        if ("power_cycle".equals(action.asText())) {
            throw new ApiException(400, "unknown_action", "power_cycle is not sent through this endpoint: use POST /api/clients/{uuid}/power_cycle (it needs a power target)");
        }
        if (!MQTT_ACTIONS.contains(action.asText())) {
            throw new ApiException(400, "unknown_action", "unknown action '" + Text.abbreviate(action.asText()) + "'; one of "
                    + MQTT_ACTIONS.stream().sorted().toList());
        }
        return options(json, action.asText(), clientUuid, principal);
    }

    /**
     * Validates {@code POST /api/clients/{uuid}/power_cycle} bodies: {@code {"reason"?, "ttl_s"?,
     * "force"?}}; no body is the same as {@code {}}.
     *
     * @param body       request body, may be empty
     * @param clientUuid the client the power cycle is for
     * @param principal  name of the API token that asks ({@code fleetPrincipal}), recorded as {@code requested_by}
     * @return named SQL parameters of {@code create-command.sql} with action {@code power_cycle}
     * @throws ApiException 400 {@code invalid_body}, {@code invalid_ttl}
     */
    public Map<String, Object> powerCycle(String body, UUID clientUuid, String principal) {
        JsonNode json = read(body, true);
        var names = json.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            if (!POWER_CYCLE_FIELDS.contains(name)) {
                throw new ApiException(400, "invalid_body", "unknown field '" + Text.abbreviate(name) + "'; allowed: "
                        + POWER_CYCLE_FIELDS.stream().sorted().toList());
            }
        }
        return options(json, "power_cycle", clientUuid, principal);
    }

    private JsonNode read(String body, boolean emptyIsObject) {
        if (emptyIsObject && (body == null || body.isBlank())) {
            return mapper.createObjectNode();
        }
        JsonNode json;
        try {
            json = body == null || body.isBlank() ? null
                    : mapper.reader()
                            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                            .with(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                            .readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "invalid_body", "the body is not JSON: " + e.getOriginalMessage());
        }
        if (json == null || !json.isObject()) {
            throw new ApiException(400, "invalid_body", emptyIsObject ? "the body must be a JSON object (or empty)"
                    : "the body must be a JSON object with at least \"action\"");
        }
        String unstorable = org.infoscreen.fleet.support.Json.unstorable(json);
        if (unstorable != null) {
            throw new ApiException(400, "invalid_body", "strings and keys must not contain " + unstorable);
        }
        return json;
    }

    private Map<String, Object> options(JsonNode json, String action, UUID clientUuid, String principal) {
        int ttl = defaultTtlS;
        JsonNode ttlNode = json.get("ttl_s");
        if (ttlNode != null && !ttlNode.isNull()) {
            if (!ttlNode.isIntegralNumber() || !ttlNode.canConvertToInt() || ttlNode.asInt() < 10 || ttlNode.asInt() > maxTtlS) {
                throw new ApiException(400, "invalid_ttl", "ttl_s must be an integer from 10 to " + maxTtlS + " seconds");
            }
            ttl = ttlNode.asInt();
        }
        boolean force = false;
        JsonNode forceNode = json.get("force");
        if (forceNode != null && !forceNode.isNull()) {
            if (!forceNode.isBoolean()) {
                throw new ApiException(400, "invalid_body", "force must be true or false");
            }
            force = forceNode.asBoolean();
        }
        String reason = null;
        JsonNode reasonNode = json.get("reason");
        if (reasonNode != null && !reasonNode.isNull()) {
            if (!reasonNode.isTextual() || reasonNode.asText().codePointCount(0, reasonNode.asText().length()) > MAX_REASON) {
                throw new ApiException(400, "invalid_body", "reason must be a string of at most " + MAX_REASON + " characters");
            }
            reason = reasonNode.asText();
        }
        Map<String, Object> p = new HashMap<>();
        p.put("id", UUID.randomUUID());
        p.put("action", action);
        p.put("reason", reason);
        p.put("ttl_s", ttl);
        p.put("force", force);
        p.put("origin", "manual");
        p.put("requested_by", principal == null || principal.isEmpty() ? "anonymous" : principal);
        p.put("clientUuid", clientUuid);
        p.put("lockout_s", lockoutS);
        return p;
    }

    /**
     * @param value path parameter
     * @return the command id
     * @throws ApiException 400 {@code invalid_command_id}
     */
    public UUID commandId(String value) {
        try {
            if (value != null && value.length() == 36) {
                return UUID.fromString(value);
            }
        } catch (IllegalArgumentException e) {
            // fall through
        }
        throw new ApiException(400, "invalid_command_id", "'" + Text.abbreviate(value) + "' is not a command id (UUID)");
    }

    /**
     * Interprets the result row of {@code create-command.sql}.
     *
     * @param row        {@code client_found}, {@code command_id}
     * @param clientUuid the client asked for
     * @return the new command id, or {@code null} when the lockout refused it (see {@link #lockout})
     * @throws ApiException 404 {@code client_not_found}
     */
    public UUID created(Map<String, Object> row, UUID clientUuid) {
        if (row == null || ((Number) row.get("client_found")).intValue() == 0) {
            throw ApiException.clientNotFound(clientUuid);
        }
        return (UUID) row.get("command_id");
    }

    /**
     * @param row {@code holder_id}, {@code retry_after_s} from {@code lockout-holder.sql}
     * @return never
     * @throws ApiException always: 409 {@code lockout} naming the command that holds the lockout,
     *                      with the seconds until it ends (also as {@code Retry-After})
     */
    public UUID lockout(Map<String, Object> row) {
        long retryAfter = row == null || row.get("retry_after_s") == null ? 1 : Math.max(1, ((Number) row.get("retry_after_s")).longValue());
        Map<String, Object> extra = new java.util.LinkedHashMap<>();
        extra.put("command_id", row == null ? null : String.valueOf(row.get("holder_id")));
        extra.put("retry_after_s", retryAfter);
        throw new ApiException(409, "lockout",
                "a destructive command was issued for this client less than the lockout window ago; retry in "
                        + retryAfter + " s or send \"force\": true", extra, retryAfter);
    }

    /**
     * Interprets the result row of {@code cancel-command.sql}.
     *
     * @param row {@code found}, {@code cancelled}, {@code status}
     * @param id  the command asked for
     * @return the command id when it was cancelled now
     * @throws ApiException 404 {@code command_not_found}; 409 {@code not_cancellable} once the device accepted it or it finished
     */
    public UUID cancelled(Map<String, Object> row, UUID id) {
        if (((Number) row.get("found")).intValue() == 0) {
            throw new ApiException(404, "command_not_found", "no command with id " + id);
        }
        if (((Number) row.get("cancelled")).intValue() == 0) {
            throw new ApiException(409, "not_cancellable",
                    "command " + id + " is " + row.get("status") + "; it can be cancelled only while queued or published");
        }
        return id;
    }

    /**
     * Checks the outcome of {@code ack-command.sql}: an ack for an unknown command or from another
     * client's topic is quarantined.
     *
     * @param outcome   {@code applied}, {@code late}, {@code ignored}, {@code unknown_command} or {@code client_mismatch}
     * @param commandId the command id the ack named
     * @return the outcome when the ack belongs to a known command of this client
     * @throws org.infoscreen.fleet.ingest.RejectedMessageException {@code unknown_command} or {@code client_mismatch}
     */
    public String requireKnownCommand(String outcome, Object commandId) {
        if ("unknown_command".equals(outcome)) {
            throw new org.infoscreen.fleet.ingest.RejectedMessageException("unknown_command", "no command with id " + commandId);
        }
        if ("client_mismatch".equals(outcome)) {
            throw new org.infoscreen.fleet.ingest.RejectedMessageException("client_mismatch",
                    "command " + commandId + " belongs to another client than the topic names");
        }
        return outcome;
    }

}
