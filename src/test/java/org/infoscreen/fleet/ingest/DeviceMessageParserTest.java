package org.infoscreen.fleet.ingest;

import org.infoscreen.fleet.support.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Pure unit test of {@link DeviceMessageParser}: every reason code, the happy path of each kind,
 * forward compatibility (unknown fields ignored, optional fields optional). No Camel.
 */
class DeviceMessageParserTest {

    private static final String PREFIX = "infoscreen";
    private static final int MAX_BYTES = 1024;
    private static final UUID UUID_1 = UUID.fromString("0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01");
    private static final OffsetDateTime RECEIVED = OffsetDateTime.parse("2026-11-29T12:00:05Z");

    private final DeviceMessageParser parser = new DeviceMessageParser(Json.mapper(), PREFIX, MAX_BYTES);

    private static String topic(String kind) {
        return PREFIX + "/" + UUID_1 + "/" + kind;
    }

    private Map<String, Object> parse(String kind, String payload) {
        return parser.parse(topic(kind), payload.getBytes(StandardCharsets.UTF_8), RECEIVED, false);
    }

    private static RejectedMessageException rejection(Runnable parse) {
        RejectedMessageException e = catchThrowableOfType(RejectedMessageException.class, parse::run);
        assertThat(e).as("expected the message to be rejected").isNotNull();
        return e;
    }

    private String reasonFor(String topic, byte[] payload) {
        return rejection(() -> parser.parse(topic, payload, RECEIVED, false)).reason();
    }

    private String reasonFor(String kind, String payload) {
        return reasonFor(topic(kind), payload.getBytes(StandardCharsets.UTF_8));
    }

    // ---- text PostgreSQL cannot store ------------------------------------------------------

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
            "{\"hostname\":\"a\\ud800\"}",          // lone high surrogate
            "{\"hostname\":\"\\udc00a\"}",          // lone low surrogate
            "{\"hostname\":\"\\udc00\\ud800\"}",   // a pair in the wrong order
            "{\"x\\ud83d\":1}",                    // in a key
            "{\"process\":{\"a\":[\"\\ud800\"]}}",  // deep inside a free-form object
            "{\"hostname\":\"a\\u0000\"}"}) // NUL
    void unpairedSurrogatesAndNulAnywhereAreInvalidFields(String payload) {
        assertThat(reasonFor("health", payload)).isEqualTo("invalid_field");
    }

    @Test
    void surrogatePairsAreOrdinaryCharacters() {
        assertThat(parse("health", "{\"hostname\":\"tv \\ud83d\\udcfa\"}")).containsEntry("hostname", "tv \uD83D\uDCFA");
    }

    // ---- invalid_topic -------------------------------------------------------------------

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {
            "infoscreen/not-a-uuid/heartbeat",
            "infoscreen/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b0/heartbeat",    // one hex digit short
            "infoscreen/0b9f3c1e8a2d4e559c1a2f6d7e8a9b01/heartbeat",        // no dashes
            "infoscreen/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9bzz/heartbeat",   // not hex
            "infoscreen//heartbeat",
            "infoscreen/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01/firmware",     // unknown kind
            "infoscreen/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01/health/extra", // extra level
            "infoscreen/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01",              // no kind at all
            "infoscreen/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01/",             // empty kind
            "otherprefix/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01/heartbeat",
            "infoscreenX/0b9f3c1e-8a2d-4e55-9c1a-2f6d7e8a9b01/heartbeat",
    })
    void topicWithoutValidUuidOrKnownKindIsInvalidTopic(String topic) {
        assertThat(reasonFor(topic, "{}".getBytes(StandardCharsets.UTF_8))).isEqualTo("invalid_topic");
    }

    @Test
    void invalidTopicWinsOverABadPayload() {
        assertThat(reasonFor("infoscreen/nope/heartbeat", "not json".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("invalid_topic");
    }

    @Test
    void kindIsThePartAfterTheUuid() {
        assertThat(parser.kind(topic("health"))).isEqualTo("health");
        assertThat(parser.kind(topic("commands/ack"))).isEqualTo("commands/ack");
        assertThat(parser.kind("elsewhere/" + UUID_1 + "/health")).isEmpty();
        assertThat(parser.kind(PREFIX + "/" + UUID_1)).isEmpty();
        assertThat(parser.kind(null)).isEmpty();
    }

    @Test
    void uppercaseUuidInTopicIsAcceptedAndNormalised() {
        Map<String, Object> p = parser.parse(PREFIX + "/" + UUID_1.toString().toUpperCase() + "/heartbeat",
                "{}".getBytes(StandardCharsets.UTF_8), RECEIVED, false);
        assertThat(p).containsEntry("uuid", UUID_1);
    }

    // ---- payload_too_large / invalid_encoding / invalid_json / not_an_object ----------------

    @Test
    void payloadOverTheLimitIsPayloadTooLarge() {
        String big = "{\"hostname\":\"" + "x".repeat(MAX_BYTES) + "\"}";
        RejectedMessageException e = rejection(() -> parse("health", big));
        assertThat(e.reason()).isEqualTo("payload_too_large");
        assertThat(e.getMessage()).contains(String.valueOf(MAX_BYTES));
    }

    @Test
    void payloadExactlyAtTheLimitIsAccepted() {
        String head = "{\"ts\":\"2026-11-29T12:00:00Z\",\"pad\":\"";
        String payload = head + "x".repeat(MAX_BYTES - head.length() - 2) + "\"}";
        assertThat(payload.getBytes(StandardCharsets.UTF_8)).hasSize(MAX_BYTES);
        assertThat(parse("heartbeat", payload)).containsEntry("kind", "heartbeat");
    }

    @Test
    void tooLargeIsCheckedBeforeEncodingAndJson() {
        byte[] junk = new byte[MAX_BYTES + 1];
        java.util.Arrays.fill(junk, (byte) 0xff);
        assertThat(reasonFor(topic("health"), junk)).isEqualTo("payload_too_large");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("invalidUtf8")
    void bytesThatAreNotUtf8AreInvalidEncoding(String label, byte[] payload) {
        assertThat(reasonFor(topic("health"), payload)).isEqualTo("invalid_encoding");
    }

    static Stream<Arguments> invalidUtf8() {
        return Stream.of(
                Arguments.of("lone continuation byte", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0x80, '"', '}'}),
                Arguments.of("0xff 0xfe", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'}),
                Arguments.of("truncated 2-byte sequence", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc3, '"', '}'}),
                Arguments.of("overlong encoding of '/'", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc0, (byte) 0xaf, '"', '}'}),
                Arguments.of("latin-1 text", "{\"hostname\":\"café\"}".getBytes(StandardCharsets.ISO_8859_1)));
    }

    @ParameterizedTest(name = "[{index}] ''{0}''")
    @ValueSource(strings = {"not json", "{\"ts\":", "{'ts':'2026-11-29T12:00:00Z'}", "{ts:1}", "{\"a\":1,}", "}", "[1,2"})
    void textThatIsNotJsonIsInvalidJson(String payload) {
        assertThat(reasonFor("heartbeat", payload)).isEqualTo("invalid_json");
    }

    @Test
    void emptyPayloadIsInvalidJson() {
        assertThat(reasonFor(topic("heartbeat"), new byte[0])).isEqualTo("invalid_json");
        assertThat(reasonFor(topic("heartbeat"), (byte[]) null)).isEqualTo("invalid_json");
    }

    @ParameterizedTest(name = "[{index}] ''{0}''")
    @ValueSource(strings = {" ", "\n\t ", "\r\n"})
    void whitespaceOnlyPayloadIsInvalidJson(String payload) {
        // RFC 8259: a JSON text is a value surrounded by optional whitespace; whitespace alone is not JSON
        assertThat(reasonFor("heartbeat", payload)).isEqualTo("invalid_json");
    }

    @ParameterizedTest(name = "[{index}] ''{0}''")
    @ValueSource(strings = {"{\"ts\":\"2026-11-29T12:00:00Z\"} trailing", "{} {}", "{\"state\":\"online\"}]"})
    void jsonObjectFollowedByMoreTextIsInvalidJson(String payload) {
        // a payload that is an object plus garbage is not a JSON text (RFC 8259) and must not be half-read
        assertThat(reasonFor("heartbeat", payload)).isEqualTo("invalid_json");
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"[1,2,3]", "[]", "\"just a string\"", "42", "-1.5", "true", "null"})
    void jsonThatIsNotAnObjectIsNotAnObject(String payload) {
        assertThat(reasonFor("heartbeat", payload)).isEqualTo("not_an_object");
    }

    // ---- invalid_field -------------------------------------------------------------------

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("invalidFields")
    void wronglyTypedOrMissingFieldIsInvalidField(String kind, String payload, String fieldInMessage) {
        RejectedMessageException e = rejection(() -> parse(kind, payload));
        assertThat(e.reason()).isEqualTo("invalid_field");
        assertThat(e.getMessage()).contains(fieldInMessage);
        assertThat(e.getMessage()).as("detail never echoes the payload").doesNotContain("SECRET-MARKER");
    }

    static Stream<Arguments> invalidFields() {
        return Stream.of(
                // ts: wrong type, not a time
                Arguments.of("heartbeat", "{\"ts\":1732881600}", "ts"),
                Arguments.of("heartbeat", "{\"ts\":true}", "ts"),
                Arguments.of("heartbeat", "{\"ts\":\"yesterday SECRET-MARKER\"}", "ts"),
                Arguments.of("health", "{\"ts\":\"2026-02-30T10:00:00Z\"}", "ts"),
                Arguments.of("health", "{\"ts\":\"2026-11-29T25:00:00Z\"}", "ts"),
                Arguments.of("health", "{\"ts\":\"2026-11-29\"}", "ts"),
                Arguments.of("health", "{\"ts\":\"29.11.2026 12:00\"}", "ts"),
                Arguments.of("status", "{\"state\":\"online\",\"ts\":{}}", "ts"),
                // text fields: wrong type, too long
                Arguments.of("health", "{\"hostname\":42}", "hostname"),
                Arguments.of("health", "{\"ip\":[\"10.0.0.1\"]}", "ip"),
                Arguments.of("health", "{\"app_version\":1.2}", "app_version"),
                Arguments.of("health", "{\"boot_id\":{}}", "boot_id"),
                Arguments.of("heartbeat", "{\"boot_id\":7}", "boot_id"),
                Arguments.of("health", "{\"hostname\":\"" + "h".repeat(257) + "\"}", "hostname"),
                // enums
                Arguments.of("health", "{\"process_status\":\"exploded\"}", "process_status"),
                Arguments.of("health", "{\"process_status\":\"RUNNING\"}", "process_status"),
                Arguments.of("health", "{\"process_status\":1}", "process_status"),
                Arguments.of("heartbeat", "{\"process_status\":\"zombie\"}", "process_status"),
                // nested blocks
                Arguments.of("health", "{\"process\":[]}", "process"),
                Arguments.of("health", "{\"system\":\"ok\"}", "system"),
                Arguments.of("health", "{\"broker_connection\":\"up\"}", "broker_connection"),
                Arguments.of("health", "{\"broker_connection\":[1]}", "broker_connection"),
                Arguments.of("health", "{\"broker_connection\":{\"reconnect_count\":-1}}", "reconnect_count"),
                Arguments.of("health", "{\"broker_connection\":{\"reconnect_count\":\"3\"}}", "reconnect_count"),
                Arguments.of("health", "{\"broker_connection\":{\"reconnect_count\":1.5}}", "reconnect_count"),
                Arguments.of("health", "{\"broker_connection\":{\"reconnect_count\":99999999999}}", "reconnect_count"),
                Arguments.of("health", "{\"broker_connection\":{\"last_disconnect_at\":\"not a time\"}}", "last_disconnect_at"),
                Arguments.of("health", "{\"broker_connection\":{\"last_disconnect_at\":1732881600}}", "last_disconnect_at"),
                Arguments.of("health", "{\"broker_connection\":{\"connected_since\":\"soon\"}}", "connected_since"),
                // service_failed
                Arguments.of("service_failed", "{\"result\":\"exit-code\"}", "unit"),
                Arguments.of("service_failed", "{\"unit\":\"\"}", "unit"),
                Arguments.of("service_failed", "{\"unit\":null}", "unit"),
                Arguments.of("service_failed", "{\"unit\":42}", "unit"),
                Arguments.of("service_failed", "{\"unit\":\"a.service\",\"exit_status\":\"boom\"}", "exit_status"),
                Arguments.of("service_failed", "{\"unit\":\"a.service\",\"exit_status\":true}", "exit_status"),
                Arguments.of("service_failed", "{\"unit\":\"a.service\",\"result\":1}", "result"),
                // status
                Arguments.of("status", "{}", "state"),
                Arguments.of("status", "{\"state\":null}", "state"),
                Arguments.of("status", "{\"state\":\"maybe\"}", "state"),
                Arguments.of("status", "{\"state\":1}", "state"),
                Arguments.of("status", "{\"online\":true}", "state"));
    }

    @Test
    void fractionalExitStatusIsInvalidField() {
        // exit_status is an integer (a process exit code); 1.5 is a wrongly typed value
        assertThat(reasonFor("service_failed", "{\"unit\":\"a.service\",\"exit_status\":1.5}")).isEqualTo("invalid_field");
    }

    // ---- happy paths ---------------------------------------------------------------------

    @Test
    void heartbeatYieldsIdentityTimesAndNullSnapshotFields() {
        Map<String, Object> p = parse("heartbeat", "{\"ts\":\"2020-01-01T00:00:00Z\",\"boot_id\":\"b-1\"}");
        assertThat(p)
                .containsEntry("uuid", UUID_1)
                .containsEntry("kind", "heartbeat")
                .containsEntry("received_at", RECEIVED)
                .containsEntry("retained", false)
                .containsEntry("device_ts", OffsetDateTime.parse("2020-01-01T00:00:00Z"))
                .containsEntry("boot_id", "b-1")
                .containsEntry("process_status", null);
        // the store statement binds the health-only parameters too: they must be present (null)
        assertThat(p).containsKeys("hostname", "ip", "app_version", "health", "mqtt_reconnect_count", "mqtt_last_disconnect_at");
        assertThat(p.get("health")).isNull();
    }

    @Test
    void retainedFlagIsPassedThrough() {
        Map<String, Object> p = parser.parse(topic("status"), "{\"state\":\"offline\"}".getBytes(StandardCharsets.UTF_8), RECEIVED, true);
        assertThat(p).containsEntry("retained", true).containsEntry("state", "offline");
    }

    @Test
    void healthYieldsSnapshotAndBrokerConnection() {
        String payload = """
                {"ts":"2026-11-29T13:00:00+01:00","hostname":"lobby-01","ip":"10.1.2.3","app_version":"4.2.0",
                 "process_status":"running","boot_id":"boot-a",
                 "process":{"pid":1234,"uptime_s":55},"system":{"load":[0.1,0.2,0.3],"disk_free_mb":1024},
                 "broker_connection":{"reconnect_count":7,"last_disconnect_at":"2026-11-29T11:59:00Z",
                                      "connected_since":"2026-11-29T11:59:05Z"}}""";
        Map<String, Object> p = parse("health", payload);
        assertThat(p)
                .containsEntry("kind", "health")
                .containsEntry("device_ts", OffsetDateTime.parse("2026-11-29T12:00:00Z"))
                .containsEntry("hostname", "lobby-01")
                .containsEntry("ip", "10.1.2.3")
                .containsEntry("app_version", "4.2.0")
                .containsEntry("process_status", "running")
                .containsEntry("boot_id", "boot-a")
                .containsEntry("mqtt_reconnect_count", 7)
                .containsEntry("mqtt_last_disconnect_at", OffsetDateTime.parse("2026-11-29T11:59:00Z"));
        assertThat(((OffsetDateTime) p.get("device_ts")).getOffset()).isEqualTo(ZoneOffset.UTC);
        assertThat(p.get("health")).isInstanceOf(String.class);
        assertThat(json((String) p.get("health")).at("/process/pid").asInt()).isEqualTo(1234);
        assertThat(json((String) p.get("health")).at("/system/disk_free_mb").asInt()).isEqualTo(1024);
    }

    @Test
    void everyProcessStatusIsAccepted() {
        for (String s : new String[] {"running", "crashed", "starting", "stopped"}) {
            assertThat(parse("health", "{\"process_status\":\"" + s + "\"}")).containsEntry("process_status", s);
        }
    }

    @Test
    void serviceFailedYieldsUnitEventIdAndDetail() {
        Map<String, Object> p = parse("service_failed",
                "{\"ts\":\"2026-11-29T12:00:00Z\",\"unit\":\"player.service\",\"result\":\"exit-code\",\"exit_status\":3,\"event_id\":\"ev-1\"}");
        assertThat(p)
                .containsEntry("kind", "service_failed")
                .containsEntry("unit", "player.service")
                .containsEntry("result", "exit-code")
                .containsEntry("event_id", "ev-1");
        assertThat(json((String) p.get("detail")).path("exit_status").asInt()).isEqualTo(3);
    }

    @Test
    void serviceFailedWithoutEventIdIsDeduplicatedByItsBytes() {
        String payload = "{\"unit\":\"player.service\",\"result\":\"signal\"}";
        Object first = parse("service_failed", payload).get("event_id");
        Object again = parse("service_failed", payload).get("event_id");
        Object other = parse("service_failed", "{\"unit\":\"player.service\",\"result\":\"core-dump\"}").get("event_id");
        assertThat(first).isNotNull().isEqualTo(again).isNotEqualTo(other);
    }

    @Test
    void statusOnlineAndOfflineAreAccepted() {
        assertThat(parse("status", "{\"state\":\"online\"}")).containsEntry("state", "online").containsEntry("device_ts", null);
        assertThat(parse("status", "{\"state\":\"offline\"}")).containsEntry("state", "offline");
    }

    @Test
    void unknownFieldsAreIgnoredInEveryKind() {
        String extra = "\"future_field\":{\"nested\":[1,2,3]},\"another\":\"x\",\"n\":-5";
        assertThat(parse("heartbeat", "{" + extra + "}")).containsEntry("kind", "heartbeat");
        assertThat(parse("health", "{" + extra + ",\"broker_connection\":{\"new_metric\":true,\"reconnect_count\":1}}"))
                .containsEntry("mqtt_reconnect_count", 1);
        assertThat(parse("service_failed", "{" + extra + ",\"unit\":\"u.service\"}")).containsEntry("unit", "u.service");
        assertThat(parse("status", "{" + extra + ",\"state\":\"online\"}")).containsEntry("state", "online");
    }

    @Test
    void missingOptionalFieldsAreNull() {
        Map<String, Object> heartbeat = parse("heartbeat", "{}");
        assertThat(heartbeat).containsEntry("device_ts", null).containsEntry("boot_id", null).containsEntry("process_status", null);

        Map<String, Object> health = parse("health", "{}");
        assertThat(health)
                .containsEntry("hostname", null).containsEntry("ip", null).containsEntry("app_version", null)
                .containsEntry("process_status", null).containsEntry("boot_id", null)
                .containsEntry("mqtt_reconnect_count", null).containsEntry("mqtt_last_disconnect_at", null);
        assertThat(health.get("health")).isEqualTo("{}");

        Map<String, Object> emptyBroker = parse("health", "{\"broker_connection\":{}}");
        assertThat(emptyBroker).containsEntry("mqtt_reconnect_count", null).containsEntry("mqtt_last_disconnect_at", null);

        Map<String, Object> serviceFailed = parse("service_failed", "{\"unit\":\"u.service\"}");
        assertThat(serviceFailed).containsEntry("result", null).containsEntry("device_ts", null);
    }

    @Test
    void explicitNullsAreTreatedAsMissing() {
        Map<String, Object> p = parse("health",
                "{\"ts\":null,\"hostname\":null,\"process_status\":null,\"broker_connection\":null,\"process\":null}");
        assertThat(p).containsEntry("device_ts", null).containsEntry("hostname", null).containsEntry("mqtt_reconnect_count", null);
    }

    @Test
    void timeWithoutOffsetIsReadAsUtc() {
        assertThat(parse("heartbeat", "{\"ts\":\"2026-11-29T12:00:00\"}"))
                .containsEntry("device_ts", OffsetDateTime.parse("2026-11-29T12:00:00Z"));
        assertThat(parse("heartbeat", "{\"ts\":\"2026-11-29T12:00:00.123456Z\"}").get("device_ts"))
                .isEqualTo(OffsetDateTime.parse("2026-11-29T12:00:00.123456Z"));
    }

    @Test
    void rejectionDetailNamesTheProblemButNotThePayload() {
        RejectedMessageException e = rejection(() -> parse("health", "{\"hostname\":{\"secret\":\"SECRET-MARKER\"}}"));
        assertThat(e.reason()).isEqualTo("invalid_field");
        assertThat(e.getMessage()).contains("hostname").doesNotContain("SECRET-MARKER");
        assertThatThrownBy(() -> parse("heartbeat", "SECRET-MARKER"))
                .isInstanceOf(RejectedMessageException.class)
                .extracting(Throwable::getMessage).asString().doesNotContain("SECRET-MARKER");
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String s) {
        try {
            return Json.mapper().readTree(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
