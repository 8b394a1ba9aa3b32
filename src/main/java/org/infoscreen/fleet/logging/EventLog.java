package org.infoscreen.fleet.logging;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.util.List;
import java.util.Map;

/**
 * Writes one log line per client event (crash_detected, recovered, service_failed, command_*,
 * recovery_*, …) as it appears in {@code client_events}, on the logger
 * {@code org.infoscreen.fleet.events}, with the MDC fields {@code client_uuid}, {@code command_id}
 * (when the event belongs to a command), {@code event_type} and {@code event_id} — top-level
 * fields in the JSON layout ({@code LOG_FORMAT=json}). The {@code log-client-events} route feeds
 * it; it starts after the newest event present at start-up (history is not logged again).
 * Best effort: the table stays the record; an event committed out of id order can be missed.
 */
public class EventLog {

    private static final Logger EVENTS = LoggerFactory.getLogger("org.infoscreen.fleet.events");

    private volatile long lastId;

    /** @param newestAtStart id of the newest event when the service started; only later events are logged */
    public EventLog(long newestAtStart) {
        this.lastId = newestAtStart;
    }

    private static Object utc(Object time) {
        if (time instanceof java.sql.Timestamp t) {
            return t.toInstant();
        }
        if (time instanceof java.time.OffsetDateTime t) {
            return t.toInstant();
        }
        return time;
    }

    /** @return the id after which the next batch starts */
    public long afterId() {
        return lastId;
    }

    /**
     * Logs the rows of {@code log-events-next.sql} in id order.
     *
     * @param rows columns {@code id}, {@code client_uuid}, {@code type}, {@code occurred_at}, {@code command_id}, {@code detail} (JSON text)
     * @return the number of lines written
     */
    public int log(List<Map<String, Object>> rows) {
        for (Map<String, Object> r : rows) {
            Object id = r.get("id");
            Object client = r.get("client_uuid");
            Object command = r.get("command_id");
            Object type = r.get("type");
            try {
                MDC.put("event_id", String.valueOf(id));
                MDC.put("event_type", String.valueOf(type));
                MDC.put("client_uuid", String.valueOf(client));
                if (command != null) {
                    MDC.put("command_id", String.valueOf(command));
                }
                EVENTS.info("{} client={}{} at {} {}", type, client, command != null ? " command=" + command : "",
                        utc(r.get("occurred_at")), r.get("detail"));
            } finally {
                MDC.remove("event_id");
                MDC.remove("event_type");
                MDC.remove("client_uuid");
                MDC.remove("command_id");
            }
            if (id instanceof Number n) {
                lastId = Math.max(lastId, n.longValue());
            }
        }
        return rows.size();
    }
}
