package org.infoscreen.fleet.ingest;

import org.infoscreen.fleet.support.Text;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Validates one device message and turns it into the named SQL parameters of the ingest routes.
 *
 * <p>Contract: docs/MQTT_EVENT_PAYLOAD_GUIDE.md (DESIGN.md §2). The topic is authoritative for
 * identity ({@code <prefix>/<uuid>/<kind>}); payloads are UTF-8 JSON objects; unknown fields are
 * ignored and missing optional fields are not errors. Times are ISO-8601 and returned as UTC
 * {@link OffsetDateTime}; durations are seconds.
 *
 * <p>Every problem raises {@link RejectedMessageException} with a stable reason code, so the
 * route can quarantine the message and keep consuming.
 */
public class DeviceMessageParser {

    /** Topic kinds that devices publish and the service stores. */
    public static final Set<String> DEVICE_KINDS = Set.of("heartbeat", "health", "service_failed", "status", "commands/ack");

    private static final Set<String> ACK_STATUSES = Set.of("accepted", "rejected", "executing", "completed", "failed");

    private static final Set<String> PROCESS_STATUSES = Set.of("running", "crashed", "starting", "stopped");
    private static final Set<String> CONNECTION_STATES = Set.of("online", "offline");
    private static final int MAX_TEXT = 256;
    private static final int MAX_DETAIL = 2048;

    private final ObjectMapper mapper;
    private final String topicPrefix;
    private final int maxPayloadBytes;

    /**
     * @param mapper          Jackson mapper used to read payloads
     * @param topicPrefix     first topic level(s), e.g. {@code infoscreen}
     * @param maxPayloadBytes larger payloads are rejected as {@code payload_too_large}
     */
    public DeviceMessageParser(ObjectMapper mapper, String topicPrefix, int maxPayloadBytes) {
        this.mapper = mapper;
        this.topicPrefix = topicPrefix.endsWith("/") ? topicPrefix : topicPrefix + "/";
        this.maxPayloadBytes = maxPayloadBytes;
    }

    /**
     * The message kind named by a topic: {@code heartbeat}, {@code health}, {@code service_failed},
     * {@code status}, {@code commands}, {@code commands/ack}, or whatever else follows the UUID.
     *
     * @param topic full MQTT topic
     * @return the part after {@code <prefix>/<uuid>/}, or {@code ""} when the topic has another shape
     */
    public String kind(String topic) {
        if (topic == null || !topic.startsWith(topicPrefix)) {
            return "";
        }
        String rest = topic.substring(topicPrefix.length());
        int slash = rest.indexOf('/');
        return slash < 0 ? "" : rest.substring(slash + 1);
    }

    /**
     * Parses and validates a device message.
     *
     * @param topic      full MQTT topic, e.g. {@code infoscreen/<uuid>/health}
     * @param payload    raw payload bytes
     * @param receivedAt server receive time (UTC), the liveness clock
     * @param retained   whether the broker replayed a retained message on subscribe
     * @return named SQL parameters: always {@code uuid}, {@code kind}, {@code received_at},
     *         {@code retained}, {@code device_ts}; plus the fields of the kind (see the payload guide)
     * @throws RejectedMessageException with reason {@code invalid_topic}, {@code payload_too_large},
     *         {@code invalid_encoding}, {@code invalid_json}, {@code not_an_object} or {@code invalid_field}
     */
    public Map<String, Object> parse(String topic, byte[] payload, OffsetDateTime receivedAt, boolean retained) {
        UUID uuid = uuidOf(topic);
        String kind = kind(topic);
        if (!DEVICE_KINDS.contains(kind)) {
            throw new RejectedMessageException("invalid_topic", "unknown message kind '" + Text.abbreviate(kind) + "'");
        }
        ObjectNode json = readObject(payload);

        Map<String, Object> p = new HashMap<>();
        p.put("uuid", uuid);
        p.put("kind", kind);
        p.put("received_at", receivedAt);
        p.put("retained", retained);
        p.put("device_ts", optionalTime(json, "ts"));
        switch (kind) {
            case "heartbeat" -> heartbeat(json, p);
            case "health" -> health(json, p);
            case "service_failed" -> serviceFailed(json, p, payload);
            case "status" -> status(json, p);
            case "commands/ack" -> ack(json, p);
            default -> throw new IllegalStateException(kind);
        }
        return p;
    }

    /**
     * Extracts and validates the client UUID from {@code <prefix>/<uuid>/...}.
     *
     * @throws RejectedMessageException {@code invalid_topic} when the topic has no valid UUID level
     */
    public UUID uuidOf(String topic) {
        if (topic == null || !topic.startsWith(topicPrefix)) {
            throw new RejectedMessageException("invalid_topic", "topic is not under the prefix " + topicPrefix);
        }
        String rest = topic.substring(topicPrefix.length());
        int slash = rest.indexOf('/');
        String candidate = slash < 0 ? rest : rest.substring(0, slash);
        if (!Text.UUID_PATTERN.matcher(candidate).matches()) {
            throw new RejectedMessageException("invalid_topic", "topic level '" + Text.abbreviate(candidate) + "' is not a UUID");
        }
        return UUID.fromString(candidate);
    }

    private ObjectNode readObject(byte[] payload) {
        if (payload == null || payload.length == 0) {
            throw new RejectedMessageException("invalid_json", "empty payload");
        }
        if (payload.length > maxPayloadBytes) {
            throw new RejectedMessageException("payload_too_large",
                    "payload of " + payload.length + " bytes exceeds the limit of " + maxPayloadBytes + " bytes");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(payload)).toString();
        } catch (CharacterCodingException e) {
            throw new RejectedMessageException("invalid_encoding", "payload is not valid UTF-8");
        }
        if (text.isBlank()) {
            throw new RejectedMessageException("invalid_json", "empty payload");
        }
        JsonNode node;
        try {
            node = mapper.reader().with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS).readTree(text);
        } catch (JsonProcessingException e) {
            throw new RejectedMessageException("invalid_json", "payload is not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new RejectedMessageException("not_an_object",
                    "payload is JSON " + (node == null ? "nothing" : node.getNodeType().name().toLowerCase()) + ", not an object");
        }
        String unstorable = org.infoscreen.fleet.support.Json.unstorable(node);
        if (unstorable != null) {
            // PostgreSQL text and jsonb cannot hold NUL characters, nor lone surrogates (no Unicode characters)
            throw new RejectedMessageException("invalid_field", "strings and keys must not contain " + unstorable);
        }
        return (ObjectNode) node;
    }

    private void heartbeat(ObjectNode json, Map<String, Object> p) {
        // a heartbeat carries no snapshot: the health-only parameters are present and null
        for (String key : List.of("hostname", "ip", "app_version", "health", "mqtt_reconnect_count", "mqtt_last_disconnect_at")) {
            p.put(key, null);
        }
        p.put("process_status", optionalEnum(json, "process_status", PROCESS_STATUSES));
        p.put("boot_id", optionalText(json, "boot_id"));
    }

    private void health(ObjectNode json, Map<String, Object> p) {
        p.put("process_status", optionalEnum(json, "process_status", PROCESS_STATUSES));
        p.put("boot_id", optionalText(json, "boot_id"));
        p.put("hostname", optionalText(json, "hostname"));
        p.put("ip", optionalText(json, "ip"));
        p.put("app_version", optionalText(json, "app_version"));
        optionalObject(json, "process");
        optionalObject(json, "system");
        ObjectNode broker = optionalObject(json, "broker_connection");
        Integer reconnects = null;
        OffsetDateTime lastDisconnect = null;
        if (broker != null) {
            reconnects = optionalNonNegativeInt(broker, "reconnect_count", "broker_connection.reconnect_count");
            lastDisconnect = optionalTime(broker, "last_disconnect_at", "broker_connection.last_disconnect_at");
            optionalTime(broker, "connected_since", "broker_connection.connected_since");
        }
        p.put("mqtt_reconnect_count", reconnects);
        p.put("mqtt_last_disconnect_at", lastDisconnect);
        p.put("health", json.toString());
    }

    private void serviceFailed(ObjectNode json, Map<String, Object> p, byte[] payload) {
        String unit = optionalText(json, "unit");
        if (unit == null) {
            throw new RejectedMessageException("invalid_field", "field 'unit' is required");
        }
        p.put("unit", unit);
        p.put("result", optionalText(json, "result"));
        JsonNode exit = json.get("exit_status");
        if (exit != null && !exit.isNull() && !(exit.isIntegralNumber() && exit.canConvertToInt())) {
            throw new RejectedMessageException("invalid_field", "field 'exit_status' must be an integer");
        }
        String eventId = optionalText(json, "event_id");
        // without an event_id the payload bytes themselves are the de-duplication key (a QoS 1 duplicate is byte-identical)
        p.put("event_id", eventId != null ? eventId : "sha256:" + sha256(payload));
        p.put("detail", json.toString());
    }

    private void status(ObjectNode json, Map<String, Object> p) {
        String state = optionalEnum(json, "state", CONNECTION_STATES);
        if (state == null) {
            throw new RejectedMessageException("invalid_field", "field 'state' is required (online or offline)");
        }
        p.put("state", state);
    }

    private void ack(ObjectNode json, Map<String, Object> p) {
        String id = optionalText(json, "command_id");
        if (id == null || !Text.UUID_PATTERN.matcher(id).matches()) {
            throw new RejectedMessageException("invalid_field", "field 'command_id' is required and must be a UUID");
        }
        String status = optionalEnum(json, "status", ACK_STATUSES);
        if (status == null) {
            throw new RejectedMessageException("invalid_field", "field 'status' is required, one of " + ACK_STATUSES.stream().sorted().toList());
        }
        p.put("command_id", UUID.fromString(id));
        p.put("ack_status", status);
        p.put("detail", optionalText(json, "detail", MAX_DETAIL));
        p.put("boot_id", optionalText(json, "boot_id"));
    }

    private static String optionalText(ObjectNode json, String field) {
        return optionalText(json, field, MAX_TEXT);
    }

    private static String optionalText(ObjectNode json, String field, int maxLength) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new RejectedMessageException("invalid_field", "field '" + field + "' must be a string");
        }
        String s = n.asText();
        if (s.codePointCount(0, s.length()) > maxLength) {
            throw new RejectedMessageException("invalid_field", "field '" + field + "' is longer than " + maxLength + " characters");
        }
        return s.isBlank() ? null : s;
    }

    private static String optionalEnum(ObjectNode json, String field, Set<String> allowed) {
        String s = optionalText(json, field);
        if (s != null && !allowed.contains(s)) {
            throw new RejectedMessageException("invalid_field",
                    "field '" + field + "' must be one of " + allowed.stream().sorted().toList());
        }
        return s;
    }

    private static ObjectNode optionalObject(ObjectNode json, String field) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new RejectedMessageException("invalid_field", "field '" + field + "' must be an object");
        }
        return (ObjectNode) n;
    }

    private static Integer optionalNonNegativeInt(ObjectNode json, String field, String label) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
            throw new RejectedMessageException("invalid_field", "field '" + label + "' must be a non-negative integer");
        }
        return n.asInt();
    }

    private static OffsetDateTime optionalTime(ObjectNode json, String field) {
        return optionalTime(json, field, field);
    }

    private static OffsetDateTime optionalTime(ObjectNode json, String field, String label) {
        JsonNode n = json.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new RejectedMessageException("invalid_field", "field '" + label + "' must be an ISO-8601 string");
        }
        OffsetDateTime t;
        try {
            t = OffsetDateTime.parse(n.asText()).withOffsetSameInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            try {
                // tolerate a missing offset: device times are specified as UTC
                t = java.time.LocalDateTime.parse(n.asText()).atOffset(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw new RejectedMessageException("invalid_field", "field '" + label + "' is not an ISO-8601 time");
            }
        }
        if (t.getYear() < 1970 || t.getYear() > 9999) {
            throw new RejectedMessageException("invalid_field", "field '" + label + "' is outside 1970-9999");
        }
        return t;
    }

    private static String sha256(byte[] payload) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(payload);
            return java.util.HexFormat.of().formatHex(digest);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

}
