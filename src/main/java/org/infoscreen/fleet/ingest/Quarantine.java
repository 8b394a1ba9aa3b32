package org.infoscreen.fleet.ingest;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Builds the {@code rejected_messages} row for a message the ingest could not store: topic,
 * reason code, detail, original size and the first bytes of the payload (decoded leniently as
 * UTF-8, NUL characters removed, so any byte sequence can be kept as text).
 */
public class Quarantine {

    private final int keepBytes;

    /** @param keepBytes how many payload bytes to keep in the row */
    public Quarantine(int keepBytes) {
        this.keepBytes = keepBytes;
    }

    /**
     * Row for a message whose processing failed with {@code failure}: the reason and detail of a
     * {@link RejectedMessageException} anywhere in its cause chain, otherwise {@code internal_error}
     * with the exception type and message.
     *
     * @param topic   MQTT topic the message arrived on
     * @param payload raw payload, may be {@code null}
     * @param failure the exception caught by the ingest error handler
     * @return the named SQL parameters, see {@link #row(String, byte[], String, String)}
     */
    public Map<String, Object> row(String topic, byte[] payload, Throwable failure) {
        RejectedMessageException rejected = rejection(failure);
        if (rejected != null) {
            return row(topic, payload, rejected.reason(), rejected.getMessage());
        }
        Throwable root = failure;
        while (root != null && root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String detail = root == null ? "unknown failure" : root.getClass().getSimpleName() + ": " + root.getMessage();
        return row(topic, payload, "internal_error", detail);
    }

    /**
     * Whether {@code failure} means the message could not be stored now through no fault of its own
     * (database unreachable, restarting, overloaded, a transient conflict; the snapshot writer
     * stopped): such a message is left unacknowledged and tried again, never quarantined. Looks at
     * the whole cause chain: Spring's transient and resource-failure exceptions, JDBC's transient
     * and recoverable ones, {@link StoreUnavailableException}, and SQLSTATE classes 08 (connection),
     * 53 (insufficient resources), 57P (shutdown), 40001/40P01 (serialization, deadlock).
     *
     * @param failure the exception caught by the ingest error handler
     * @return {@code true} to retry, {@code false} when the message itself is the problem
     */
    public boolean storeUnavailable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof StoreUnavailableException
                    || t instanceof org.springframework.dao.TransientDataAccessException
                    || t instanceof org.springframework.dao.DataAccessResourceFailureException
                    || t instanceof org.springframework.dao.RecoverableDataAccessException
                    || t instanceof java.sql.SQLTransientException
                    || t instanceof java.sql.SQLRecoverableException) {
                return true;
            }
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("08") || state.startsWith("53") || state.startsWith("57P")
                        || state.equals("40001") || state.equals("40P01")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** @return the {@link RejectedMessageException} in the cause chain of {@code failure}, or {@code null} */
    public static RejectedMessageException rejection(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RejectedMessageException r) {
                return r;
            }
        }
        return null;
    }

    /**
     * @param topic   MQTT topic the message arrived on (truncated to 512 characters)
     * @param payload raw payload, may be {@code null}
     * @param reason  stable reason code, e.g. {@code invalid_json}
     * @param detail  human-readable detail
     * @return named SQL parameters {@code topic}, {@code reason}, {@code detail}, {@code payload_size}, {@code payload}
     */
    public Map<String, Object> row(String topic, byte[] payload, String reason, String detail) {
        byte[] bytes = payload == null ? new byte[0] : payload;
        byte[] kept = bytes.length > keepBytes ? Arrays.copyOf(bytes, keepBytes) : bytes;
        Map<String, Object> row = new HashMap<>();
        row.put("topic", truncate(topic == null ? "" : topic, 512));
        row.put("reason", reason == null ? "internal_error" : reason);
        row.put("detail", detail == null ? null : truncate(detail, 1000));
        row.put("payload_size", bytes.length);
        row.put("payload", new String(kept, StandardCharsets.UTF_8).replace("\u0000", ""));
        return row;
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
