package org.infoscreen.fleet.ingest;

/**
 * A device message that cannot be stored: the ingest route quarantines it in
 * {@code rejected_messages} and goes on with the next message.
 *
 * <p>{@link #reason()} is a stable machine-readable code (for example {@code invalid_json});
 * the message text is a human-readable detail that never contains the payload itself.
 */
public class RejectedMessageException extends RuntimeException {

    private final String reason;

    /**
     * @param reason stable code, one of the values documented in docs/MQTT_EVENT_PAYLOAD_GUIDE.md
     * @param detail human-readable explanation (no payload content)
     */
    public RejectedMessageException(String reason, String detail) {
        super(detail, null, false, false);
        this.reason = reason;
    }

    /** @return the stable rejection code, e.g. {@code invalid_json}, {@code invalid_field} */
    public String reason() {
        return reason;
    }
}
