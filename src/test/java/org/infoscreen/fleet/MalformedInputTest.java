package org.infoscreen.fleet;

import org.apache.camel.ServiceStatus;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Bad device input never stops the ingest: each malformed message becomes exactly one
 * {@code rejected_messages} row (reason + truncated payload), is counted in the metrics, and the
 * next message is processed.
 */
class MalformedInputTest extends FleetTestSupport {

    private static final int MAX_PAYLOAD_BYTES = 2000;
    private static final int KEPT_PAYLOAD_BYTES = 100;
    private static final Duration WAIT = Duration.ofSeconds(15);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.mqtt.max-payload-bytes", String.valueOf(MAX_PAYLOAD_BYTES));
        p.setProperty("fleet.quarantine.payload-bytes", String.valueOf(KEPT_PAYLOAD_BYTES));
        return p;
    }

    /** One malformed message: where it goes, what it carries, why it must be rejected. */
    record Case(String name, String topic, byte[] payload, String reason) {
        @Override
        public String toString() {
            return name;
        }
    }

    private Case onKind(String name, String kind, String payload, String reason) {
        return onKind(name, kind, payload.getBytes(StandardCharsets.UTF_8), reason);
    }

    private Case onKind(String name, String kind, byte[] payload, String reason) {
        return new Case(name, topicPrefix() + "/" + UUID.randomUUID() + "/" + kind, payload, reason);
    }

    /** A fresh corpus: every case on its own topic (own client UUID), so rows can be told apart. */
    private List<Case> corpus() {
        List<Case> c = new ArrayList<>();
        c.add(onKind("not JSON", "health", "this is not json", "invalid_json"));
        c.add(onKind("truncated JSON", "heartbeat", "{\"ts\":\"2026-11-29T12:00:00Z\"", "invalid_json"));
        c.add(onKind("single-quoted JSON", "heartbeat", "{'ts':'2026-11-29T12:00:00Z'}", "invalid_json"));
        c.add(onKind("empty payload", "heartbeat", new byte[0], "invalid_json"));
        c.add(onKind("raw NUL byte in a string", "health", new byte[] {'{', '"', 'h', 'o', 's', 't', 'n', 'a', 'm', 'e', '"', ':', '"', 'a', 0, 'b', '"', '}'}, "invalid_json"));
        c.add(onKind("JSON array", "heartbeat", "[1,2,3]", "not_an_object"));
        c.add(onKind("JSON string", "heartbeat", "\"just a string\"", "not_an_object"));
        c.add(onKind("JSON number", "status", "42", "not_an_object"));
        c.add(onKind("JSON null", "heartbeat", "null", "not_an_object"));
        c.add(onKind("JSON boolean", "service_failed", "true", "not_an_object"));
        c.add(onKind("invalid UTF-8", "health", new byte[] {'{', '"', 'h', 'o', 's', 't', 'n', 'a', 'm', 'e', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'}, "invalid_encoding"));
        c.add(onKind("latin-1 text", "health", "{\"hostname\":\"café-süd\"}".getBytes(StandardCharsets.ISO_8859_1), "invalid_encoding"));
        c.add(onKind("oversize payload", "health", "{\"hostname\":\"big\",\"pad\":\"" + "p".repeat(MAX_PAYLOAD_BYTES) + "\"}", "payload_too_large"));
        c.add(new Case("bad UUID in topic", topicPrefix() + "/not-a-uuid-" + UUID.randomUUID().toString().substring(0, 8) + "/heartbeat",
                "{}".getBytes(StandardCharsets.UTF_8), "invalid_topic"));
        c.add(onKind("unknown kind", "firmware", "{\"version\":\"1.0\"}", "invalid_topic"));
        c.add(onKind("extra topic level", "health/extra", "{}", "invalid_topic"));
        c.add(onKind("ts is a number", "heartbeat", "{\"ts\":1732881600}", "invalid_field"));
        c.add(onKind("ts is not a time", "heartbeat", "{\"ts\":\"yesterday\"}", "invalid_field"));
        c.add(onKind("ts is an impossible date", "health", "{\"ts\":\"2026-02-30T10:00:00Z\"}", "invalid_field"));
        c.add(onKind("hostname is a number", "health", "{\"hostname\":42}", "invalid_field"));
        c.add(onKind("app_version too long", "health", "{\"app_version\":\"" + "v".repeat(300) + "\"}", "invalid_field"));
        c.add(onKind("boot_id is a number", "heartbeat", "{\"boot_id\":7}", "invalid_field"));
        c.add(onKind("bad process_status", "health", "{\"process_status\":\"exploded\"}", "invalid_field"));
        c.add(onKind("process block is an array", "health", "{\"process\":[]}", "invalid_field"));
        c.add(onKind("broker_connection not an object", "health", "{\"broker_connection\":\"up\"}", "invalid_field"));
        c.add(onKind("negative reconnect_count", "health", "{\"broker_connection\":{\"reconnect_count\":-1}}", "invalid_field"));
        c.add(onKind("reconnect_count is a string", "health", "{\"broker_connection\":{\"reconnect_count\":\"3\"}}", "invalid_field"));
        c.add(onKind("reconnect_count overflows", "health", "{\"broker_connection\":{\"reconnect_count\":99999999999}}", "invalid_field"));
        c.add(onKind("bad last_disconnect_at", "health", "{\"broker_connection\":{\"last_disconnect_at\":\"not a time\"}}", "invalid_field"));
        c.add(onKind("service_failed without unit", "service_failed", "{\"result\":\"exit-code\",\"event_id\":\"x\"}", "invalid_field"));
        c.add(onKind("exit_status is a string", "service_failed", "{\"unit\":\"a.service\",\"exit_status\":\"boom\"}", "invalid_field"));
        c.add(onKind("status without state", "status", "{}", "invalid_field"));
        c.add(onKind("status with unknown state", "status", "{\"state\":\"maybe\"}", "invalid_field"));
        return c;
    }

    @Test
    void everyMalformedMessageIsQuarantinedOnceWithItsReasonAndTruncatedPayload() {
        List<Case> corpus = corpus();
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(20);
        corpus.forEach(c -> publishRaw(c.topic(), c.payload(), false));
        UUID good = UUID.randomUUID();
        publish(good, "health", "{\"hostname\":\"good-after-corpus\",\"process_status\":\"running\"}");

        await().atMost(WAIT).untilAsserted(() ->
                assertThat(scalar("SELECT hostname FROM clients WHERE uuid = ?", good)).isEqualTo("good-after-corpus"));
        await().atMost(WAIT).untilAsserted(() -> SoftAssertions.assertSoftly(soft -> {
            for (Case c : corpus) {
                List<Map<String, Object>> rows = query(
                        "SELECT reason, detail, payload_size, payload FROM rejected_messages WHERE topic = ?", c.topic());
                soft.assertThat(rows).as("%s: rejected_messages rows", c).hasSize(1);
                if (rows.size() == 1) {
                    Map<String, Object> row = rows.get(0);
                    soft.assertThat(row.get("reason")).as("%s: reason", c).isEqualTo(c.reason());
                    soft.assertThat(row.get("detail")).as("%s: detail", c).isNotNull();
                    soft.assertThat(row.get("payload_size")).as("%s: payload_size", c).isEqualTo(c.payload().length);
                    soft.assertThat(row.get("payload")).as("%s: stored payload", c).isEqualTo(expectedStoredPayload(c.payload()));
                }
            }
        }));
        // a rejected message never registers a client
        for (Case c : corpus) {
            String[] levels = c.topic().split("/");
            if (levels[1].length() == 36 && !levels[1].startsWith("not-a-uuid")) {
                assertThat(scalar("SELECT count(*) FROM clients WHERE uuid = ?", UUID.fromString(levels[1])))
                        .as("%s must not create a client", c).isEqualTo(0L);
            }
        }
        assertThat(context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started);
    }

    @Test
    void oversizePayloadIsKeptTruncatedWithItsOriginalSize() {
        String big = "{\"hostname\":\"big\",\"pad\":\"" + "q".repeat(MAX_PAYLOAD_BYTES * 2) + "\"}";
        Case c = onKind("oversize", "health", big, "payload_too_large");
        publishRaw(c.topic(), c.payload(), false);
        Map<String, Object> row = await().atMost(WAIT).until(
                () -> query("SELECT reason, payload_size, payload FROM rejected_messages WHERE topic = ?", c.topic()),
                rows -> !rows.isEmpty()).get(0);
        assertThat(row).containsEntry("reason", "payload_too_large").containsEntry("payload_size", big.length());
        assertThat((String) row.get("payload")).hasSize(KEPT_PAYLOAD_BYTES).isEqualTo(big.substring(0, KEPT_PAYLOAD_BYTES));
    }

    @Test
    void escapedNulCharacterInATextFieldIsRejectedAsInvalidField() {
        // valid JSON, but PostgreSQL text cannot hold U+0000: this is bad device input
        // (invalid_field), not a failure of the service (internal_error)
        Case c = onKind("escaped NUL in hostname", "health", "{\"hostname\":\"lobby\\u0000-01\"}", "invalid_field");
        publishRaw(c.topic(), c.payload(), false);
        Map<String, Object> row = await().atMost(WAIT).until(
                () -> query("SELECT reason, detail FROM rejected_messages WHERE topic = ?", c.topic()),
                rows -> !rows.isEmpty()).get(0);
        assertThat(row.get("reason")).as("detail: %s", row.get("detail")).isEqualTo("invalid_field");
    }

    @Test
    void fiftyMalformedMessagesInARowDoNotStopTheIngest() {
        List<Case> corpus = corpus();
        List<Case> burst = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Case template = corpus.get(i % corpus.size());
            String kind = template.topic().substring(template.topic().lastIndexOf('/') + 1);
            burst.add(template.name().equals("bad UUID in topic")
                    ? new Case(template.name(), topicPrefix() + "/bad-uuid-" + i + "/heartbeat", template.payload(), template.reason())
                    : template.name().equals("extra topic level")
                    ? onKind(template.name(), "health/extra", template.payload(), template.reason())
                    : onKind(template.name(), kind, template.payload(), template.reason()));
        }
        burst.forEach(c -> publishRaw(c.topic(), c.payload(), false));
        UUID good = UUID.randomUUID();
        publish(good, "heartbeat", "{\"ts\":\"2026-11-29T12:00:00Z\"}");

        await().atMost(WAIT).untilAsserted(() ->
                assertThat(scalar("SELECT count(*) FROM clients WHERE uuid = ? AND last_alive_at IS NOT NULL", good)).isEqualTo(1L));
        await().atMost(WAIT).untilAsserted(() -> assertThat(
                scalar("SELECT count(*) FROM rejected_messages WHERE topic = ANY(?)", (Object) burst.stream().map(Case::topic).toArray(String[]::new)))
                .isEqualTo(50L));
        assertThat(context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started);
    }

    @Test
    void rejectionsAreCountedPerReasonInPrometheusMetrics() {
        Map<String, Case> oneOfEach = new LinkedHashMap<>();
        for (Case c : corpus()) {
            oneOfEach.putIfAbsent(c.reason(), c);
        }
        assertThat(oneOfEach.keySet()).containsExactlyInAnyOrder(
                "invalid_json", "not_an_object", "invalid_encoding", "payload_too_large", "invalid_topic", "invalid_field");
        Map<String, Double> before = new LinkedHashMap<>();
        oneOfEach.keySet().forEach(reason -> before.put(reason, rejectedMetric(reason)));

        oneOfEach.values().forEach(c -> publishRaw(c.topic(), c.payload(), false));

        await().atMost(WAIT).untilAsserted(() -> SoftAssertions.assertSoftly(soft -> oneOfEach.keySet().forEach(reason ->
                soft.assertThat(rejectedMetric(reason)).as("fleet_messages_rejected_total{reason=%s}", reason)
                        .isEqualTo(before.get(reason) + 1))));
        String metrics = http("GET", "/observe/metrics").body();
        assertThat(metrics).contains("# TYPE fleet_messages_rejected_total counter");
    }

    // ---- helpers -------------------------------------------------------------------------

    /** What the quarantine keeps: the first bytes, decoded leniently as UTF-8, NUL removed. */
    private static String expectedStoredPayload(byte[] payload) {
        byte[] kept = payload.length > KEPT_PAYLOAD_BYTES ? Arrays.copyOf(payload, KEPT_PAYLOAD_BYTES) : payload;
        return new String(kept, StandardCharsets.UTF_8).replace("\u0000", "");
    }

    /** @return value of the rejected-messages counter for one reason (0 when the series does not exist yet) */
    private double rejectedMetric(String reason) {
        double sum = 0;
        for (String line : http("GET", "/observe/metrics").body().split("\n")) {
            if (line.startsWith("fleet_messages_rejected_total{") && line.contains("reason=\"" + reason + "\"")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
