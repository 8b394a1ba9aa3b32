package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A generated corpus of malformed (and borderline but valid) input on every device topic and
 * every REST operation that takes a body, one JUnit case per input:
 * <ul>
 *   <li>bad MQTT messages are quarantined: exactly one {@code rejected_messages} row with the
 *       expected reason and a detail, no client registered, no route stopped;</li>
 *   <li>input the payload guide accepts (unknown fields, nulls for optional fields, SQL- or
 *       script-looking text, Unicode that PostgreSQL can hold) is stored verbatim, not quarantined;</li>
 *   <li>bad REST calls get a 4xx with a JSON {@code {"error", "message"}} body, never a 500 or HTML;</li>
 *   <li>after the corpus, good messages and requests are stored and answered as usual.</li>
 * </ul>
 * Families: random bytes (seeded), truncated JSON, deep nesting, huge strings and arrays, JSON
 * that is not an object, wrong types for every field, nulls, Unicode edge cases, numbers out of
 * range, SQL- and script-looking strings, invalid and mismatched UUIDs in topics and bodies,
 * unknown actions and statuses, topics with extra or missing levels.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MalformedInputCorpusTest extends FleetTestSupport {

    private static final long SEED = 20261129L;
    private static final int MAX_PAYLOAD = 65536;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String TS = "\"2026-11-29T12:00:00Z\"";

    /** Asserts what an accepted MQTT message stored for its client. */
    interface Stored {
        void verify(MalformedInputCorpusTest t, UUID client) throws Exception;
    }

    /** One MQTT input: rejected with {@code reason}, or stored ({@code stored} checks it), or ignored. */
    record MqttCase(String name, String topic, byte[] payload, String reason, UUID client, Stored stored) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** One REST input and the answer it must get; {@code stored} checks a 2xx outcome in the database. */
    record RestCase(String name, String method, String path, byte[] body, String contentType, int status, String error,
                    Stored stored, UUID client, String token) {
        @Override
        public String toString() {
            return name;
        }
    }

    private final Random random = new Random(SEED);
    private final List<MqttCase> mqtt = new ArrayList<>();
    private final List<RestCase> rest = new ArrayList<>();
    private final Set<String> names = new LinkedHashSet<>();
    private boolean published;

    // ---- the corpus ----------------------------------------------------------------------------

    /** A valid payload per kind, as raw JSON text per field, so a case can replace one field's text exactly. */
    private static Map<String, String> base(String kind, String commandId) {
        Map<String, String> f = new LinkedHashMap<>();
        switch (kind) {
            case "heartbeat" -> {
                f.put("ts", TS);
                f.put("process_status", "\"running\"");
                f.put("boot_id", "\"boot-1\"");
            }
            case "health" -> {
                f.put("ts", TS);
                f.put("process_status", "\"running\"");
                f.put("boot_id", "\"boot-1\"");
                f.put("hostname", "\"corpus-display\"");
                f.put("ip", "\"10.20.0.17\"");
                f.put("app_version", "\"3.2.1\"");
                f.put("process", "{\"name\":\"player\",\"pid\":812}");
                f.put("system", "{\"uptime_s\":3600,\"load_avg_1m\":0.4}");
                f.put("broker_connection", "{\"reconnect_count\":2,\"last_disconnect_at\":\"2026-11-29T11:58:30Z\",\"connected_since\":\"2026-11-29T11:58:31Z\"}");
            }
            case "service_failed" -> {
                f.put("ts", TS);
                f.put("unit", "\"infoscreen-player.service\"");
                f.put("result", "\"exit-code\"");
                f.put("exit_status", "1");
                f.put("event_id", "\"event-1\"");
            }
            case "status" -> {
                f.put("state", "\"online\"");
                f.put("ts", TS);
            }
            case "commands/ack" -> {
                f.put("command_id", "\"" + commandId + "\"");
                f.put("status", "\"accepted\"");
                f.put("detail", "\"on it\"");
                f.put("boot_id", "\"boot-1\"");
                f.put("ts", TS);
            }
            default -> throw new IllegalArgumentException(kind);
        }
        return f;
    }

    private static final List<String> KINDS = List.of("heartbeat", "health", "service_failed", "status", "commands/ack");

    private static String object(Map<String, String> fields) {
        StringBuilder b = new StringBuilder("{");
        fields.forEach((k, v) -> {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append('"').append(k).append("\":").append(v);
        });
        return b.append('}').toString();
    }

    /** The kind's valid payload with one field's raw JSON text replaced (or added); a random command id for acks. */
    private static String with(String kind, String field, String raw) {
        Map<String, String> f = base(kind, UUID.randomUUID().toString());
        f.put(field, raw);
        return object(f);
    }

    private static String without(String kind, String field) {
        Map<String, String> f = base(kind, UUID.randomUUID().toString());
        f.remove(field);
        return object(f);
    }

    private static String health(String brokerField, String raw) {
        Map<String, String> b = new LinkedHashMap<>();
        b.put("reconnect_count", "2");
        b.put("last_disconnect_at", "\"2026-11-29T11:58:30Z\"");
        b.put("connected_since", "\"2026-11-29T11:58:31Z\"");
        b.put(brokerField, raw);
        return with("health", "broker_connection", object(b));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String nested(String open, String close, String inner, int depth) {
        return open.repeat(depth) + inner + close.repeat(depth);
    }

    private String topic(UUID client, String kind) {
        return topicPrefix() + "/" + client + "/" + kind;
    }

    private void name(String name) {
        if (!names.add(name)) {
            throw new IllegalStateException("duplicate case name: " + name);
        }
    }

    private void reject(String name, String kind, String payload, String reason) {
        reject(name, kind, utf8(payload), reason);
    }

    private void reject(String name, String kind, byte[] payload, String reason) {
        UUID client = UUID.randomUUID();
        rejectTopic(name, topic(client, kind), payload, reason, client);
    }

    private void rejectTopic(String name, String topic, byte[] payload, String reason, UUID client) {
        name("mqtt " + name);
        mqtt.add(new MqttCase("mqtt " + name, topic, payload, reason, client, null));
    }

    private void accept(String name, String kind, String payload, Stored stored) {
        accept(name, kind, utf8(payload), stored);
    }

    private void accept(String name, String kind, byte[] payload, Stored stored) {
        UUID client = UUID.randomUUID();
        name("mqtt " + name);
        mqtt.add(new MqttCase("mqtt " + name, topic(client, kind), payload, null, client, stored));
    }

    private static Stored column(String column, Object expected) {
        return (t, client) -> assertThat(t.scalar("SELECT " + column + " FROM clients WHERE uuid = ?", client))
                .as("clients.%s", column).isEqualTo(expected);
    }

    private static Stored registered() {
        return (t, client) -> assertThat(t.events(client, "client_registered")).isEqualTo(1);
    }

    private static Stored healthField(String jsonField, String expected) {
        return (t, client) -> assertThat(t.scalar("SELECT health ->> '" + jsonField + "' FROM clients WHERE uuid = ?", client))
                .as("health.%s", jsonField).isEqualTo(expected);
    }

    private static Stored serviceFailed(String expectedUnit) {
        return (t, client) -> {
            assertThat(t.events(client, "service_failed")).isEqualTo(1);
            assertThat(t.scalar("SELECT service_failed_unit FROM clients WHERE uuid = ?", client)).isEqualTo(expectedUnit);
        };
    }

    private List<MqttCase> mqttCorpus() {
        if (!mqtt.isEmpty()) {
            return mqtt;
        }
        // random bytes (seeded): binary with at least one byte that is never valid UTF-8, and ASCII noise
        for (String kind : KINDS) {
            for (int i = 0; i < 3; i++) {
                byte[] b = new byte[8 + random.nextInt(120)];
                random.nextBytes(b);
                b[random.nextInt(b.length)] = (byte) (0xF8 + random.nextInt(8));
                reject(kind + ": random bytes #" + i, kind, b, "invalid_encoding");
            }
            for (int i = 0; i < 2; i++) {
                StringBuilder s = new StringBuilder("~");
                int n = 5 + random.nextInt(80);
                for (int k = 0; k < n; k++) {
                    s.append((char) (0x20 + random.nextInt(0x5F)));
                }
                reject(kind + ": random ASCII text #" + i, kind, s.toString(), "invalid_json");
            }
        }
        // truncated JSON, empty and blank payloads, trailing content, JSON extensions
        for (String kind : KINDS) {
            String full = object(base(kind, UUID.randomUUID().toString()));
            for (int cut : new int[] {1, full.length() / 3, full.length() / 2, full.length() - 1}) {
                reject(kind + ": truncated at " + cut + " of " + full.length(), kind, full.substring(0, cut), "invalid_json");
            }
            reject(kind + ": empty payload", kind, new byte[0], "invalid_json");
            reject(kind + ": blank payload", kind, " \n\t ", "invalid_json");
            reject(kind + ": trailing second object", kind, full + " {}", "invalid_json");
        }
        reject("heartbeat: comment", "heartbeat", "{/* c */\"ts\":" + TS + "}", "invalid_json");
        reject("health: single quotes", "health", "{'hostname':'x'}", "invalid_json");
        reject("health: trailing comma", "health", "{\"hostname\":\"x\",}", "invalid_json");
        reject("health: unquoted key", "health", "{hostname:\"x\"}", "invalid_json");
        reject("service_failed: NaN exit_status", "service_failed", with("service_failed", "exit_status", "NaN"), "invalid_json");
        reject("heartbeat: raw tab inside a string", "heartbeat", "{\"boot_id\":\"a\tb\"}", "invalid_json");
        reject("health: raw NUL byte inside a string", "health",
                concat(utf8("{\"hostname\":\"a"), new byte[] {0}, utf8("b\"}")), "invalid_json");

        // JSON that is not an object
        for (String kind : KINDS) {
            for (String v : List.of("[]", "[{\"state\":\"online\"}]", "\"online\"", "42", "true", "null")) {
                reject(kind + ": top-level " + v, kind, v, "not_an_object");
            }
        }
        // deep nesting: beyond the parser's depth limit (1000) is not JSON we read; within it, only known fields are checked
        for (String kind : KINDS) {
            reject(kind + ": arrays nested 2000 deep", kind, nested("[", "]", "1", 2000), "invalid_json");
        }
        reject("health: process nested 1500 deep", "health", with("health", "process", nested("{\"a\":", "}", "1", 1500)), "invalid_json");
        reject("service_failed: unit is an array nested 50 deep", "service_failed",
                with("service_failed", "unit", nested("[", "]", "\"x\"", 50)), "invalid_field");
        reject("status: state is an object nested 50 deep", "status", with("status", "state", nested("{\"s\":", "}", "1", 50)), "invalid_field");
        accept("health: system nested 200 deep is kept in the snapshot", "health",
                with("health", "system", nested("{\"a\":", "}", "\"deep\"", 200)), healthField("hostname", "corpus-display"));
        accept("heartbeat: unknown field nested 500 deep is ignored", "heartbeat",
                with("heartbeat", "extension", nested("[", "]", "0", 500)), registered());

        // huge strings and arrays
        for (String kind : KINDS) {
            reject(kind + ": payload of " + (MAX_PAYLOAD + 1) + " bytes", kind,
                    with(kind, "pad", quoted("p".repeat(MAX_PAYLOAD + 1))), "payload_too_large");
        }
        reject("health: hostname of 257 characters", "health", with("health", "hostname", quoted("h".repeat(257))), "invalid_field");
        accept("health: hostname of exactly 256 characters", "health", with("health", "hostname", quoted("h".repeat(256))),
                column("hostname", "h".repeat(256)));
        reject("health: hostname of 257 emoji", "health", with("health", "hostname", quoted("\uD83D\uDCFA".repeat(257))), "invalid_field");
        accept("health: hostname of 256 emoji (counted as characters, not UTF-16 units)", "health",
                with("health", "hostname", quoted("\uD83D\uDCFA".repeat(256))), column("hostname", "\uD83D\uDCFA".repeat(256)));
        reject("service_failed: unit of 10000 characters", "service_failed", with("service_failed", "unit", quoted("u".repeat(10_000))), "invalid_field");
        reject("service_failed: event_id of 300 characters", "service_failed", with("service_failed", "event_id", quoted("e".repeat(300))), "invalid_field");
        reject("heartbeat: boot_id of 5000 characters", "heartbeat", with("heartbeat", "boot_id", quoted("b".repeat(5000))), "invalid_field");
        reject("commands/ack: detail of 2049 characters", "commands/ack", with("commands/ack", "detail", quoted("d".repeat(2049))), "invalid_field");
        accept("heartbeat: unknown string field of 60000 characters is ignored", "heartbeat",
                with("heartbeat", "note", quoted("n".repeat(60_000))), registered());
        accept("health: unknown array of 10000 numbers is kept", "health",
                with("health", "samples", "[" + "7,".repeat(9_999) + "7]"), healthField("app_version", "3.2.1"));
        reject("health: hostname is an array of 10000 strings", "health", with("health", "hostname", "[" + "\"h\",".repeat(9_999) + "\"h\"]"), "invalid_field");
        reject("heartbeat: top-level array of 20000 numbers", "heartbeat", "[" + "1,".repeat(19_999) + "1]", "not_an_object");
        reject("service_failed: exit_status with 1500 digits", "service_failed", with("service_failed", "exit_status", "9".repeat(1500)), "invalid_json");

        // wrong types for every field
        Map<String, List<String>> wrongTypes = new LinkedHashMap<>();
        wrongTypes.put("heartbeat.ts", List.of("1732881600", "true", "[]", "{}"));
        wrongTypes.put("heartbeat.process_status", List.of("1", "false", "[\"running\"]", "{}"));
        wrongTypes.put("heartbeat.boot_id", List.of("7", "true", "[]", "{\"id\":1}"));
        wrongTypes.put("health.ts", List.of("0", "[]"));
        wrongTypes.put("health.process_status", List.of("0", "{}"));
        wrongTypes.put("health.boot_id", List.of("1.5", "[]"));
        wrongTypes.put("health.hostname", List.of("42", "false", "{\"name\":\"x\"}"));
        wrongTypes.put("health.ip", List.of("167772161", "[10,0,0,1]"));
        wrongTypes.put("health.app_version", List.of("3.2", "true"));
        wrongTypes.put("health.process", List.of("\"player\"", "7", "[]"));
        wrongTypes.put("health.system", List.of("\"linux\"", "false", "[1]"));
        wrongTypes.put("health.broker_connection", List.of("\"connected\"", "1", "[]"));
        wrongTypes.put("service_failed.ts", List.of("1732881600", "{}"));
        wrongTypes.put("service_failed.unit", List.of("42", "true", "[]", "{}"));
        wrongTypes.put("service_failed.result", List.of("1", "[]"));
        wrongTypes.put("service_failed.exit_status", List.of("\"1\"", "1.5", "1.0", "true", "[]"));
        wrongTypes.put("service_failed.event_id", List.of("7", "{}", "[\"e\"]"));
        wrongTypes.put("status.state", List.of("1", "true", "[]", "{}"));
        wrongTypes.put("status.ts", List.of("12", "false"));
        wrongTypes.put("commands/ack.command_id", List.of("42", "[]", "{}"));
        wrongTypes.put("commands/ack.status", List.of("1", "true", "[\"accepted\"]"));
        wrongTypes.put("commands/ack.detail", List.of("5", "{}"));
        wrongTypes.put("commands/ack.boot_id", List.of("1", "[]"));
        wrongTypes.put("commands/ack.ts", List.of("1", "[]"));
        wrongTypes.forEach((path, values) -> {
            String kind = path.substring(0, path.lastIndexOf('.'));
            String field = path.substring(path.lastIndexOf('.') + 1);
            for (String v : values) {
                reject(kind + ": " + field + " = " + v, kind, with(kind, field, v), "invalid_field");
            }
        });
        for (String v : List.of("\"3\"", "1.5", "-1", "true", "2147483648", "1e400", "[]")) {
            reject("health: broker_connection.reconnect_count = " + v, "health", health("reconnect_count", v), "invalid_field");
        }
        for (String v : List.of("123", "\"not a time\"", "\"2026-13-01T00:00:00Z\"", "\"2026-11-29\"")) {
            reject("health: broker_connection.last_disconnect_at = " + v, "health", health("last_disconnect_at", v), "invalid_field");
        }
        for (String v : List.of("false", "\"yesterday\"")) {
            reject("health: broker_connection.connected_since = " + v, "health", health("connected_since", v), "invalid_field");
        }
        // values of the right type that are not allowed
        for (String v : List.of("\"exploded\"", "\"RUNNING\"", "\"running \"")) {
            reject("heartbeat: process_status " + v, "heartbeat", with("heartbeat", "process_status", v), "invalid_field");
        }
        for (String v : List.of("\"maybe\"", "\"ONLINE\"", "\"offline\\n\"")) {
            reject("status: state " + v, "status", with("status", "state", v), "invalid_field");
        }
        for (String v : List.of("\"done\"", "\"COMPLETED\"", "\"queued\"", "\"expired\"", "\"cancelled\"")) {
            reject("commands/ack: unknown status " + v, "commands/ack", with("commands/ack", "status", v), "invalid_field");
        }
        for (String v : List.of("\"yesterday\"", "\"2026-02-30T10:00:00Z\"", "\"29.11.2026 12:00\"", "\"2026-11-29T25:00:00Z\"")) {
            reject("heartbeat: ts " + v, "heartbeat", with("heartbeat", "ts", v), "invalid_field");
        }

        // nulls: required fields refuse them, optional ones take them as absent
        reject("service_failed: unit null", "service_failed", with("service_failed", "unit", "null"), "invalid_field");
        reject("service_failed: unit blank", "service_failed", with("service_failed", "unit", "\"   \""), "invalid_field");
        reject("service_failed: unit missing", "service_failed", without("service_failed", "unit"), "invalid_field");
        reject("status: state null", "status", with("status", "state", "null"), "invalid_field");
        reject("status: state empty", "status", with("status", "state", "\"\""), "invalid_field");
        reject("commands/ack: command_id null", "commands/ack", with("commands/ack", "command_id", "null"), "invalid_field");
        reject("commands/ack: command_id missing", "commands/ack", without("commands/ack", "command_id"), "invalid_field");
        reject("commands/ack: status null", "commands/ack", with("commands/ack", "status", "null"), "invalid_field");
        reject("commands/ack: status missing", "commands/ack", without("commands/ack", "status"), "invalid_field");
        accept("heartbeat: every field null", "heartbeat", "{\"ts\":null,\"process_status\":null,\"boot_id\":null}", registered());
        accept("heartbeat: empty object", "heartbeat", "{}", registered());
        accept("health: every optional field null", "health",
                "{\"ts\":null,\"process_status\":null,\"boot_id\":null,\"hostname\":null,\"ip\":null,\"app_version\":null,"
                        + "\"process\":null,\"system\":null,\"broker_connection\":null}", registered());
        accept("health: broker_connection fields null", "health",
                "{\"hostname\":\"nulls-inside\",\"broker_connection\":{\"reconnect_count\":null,\"last_disconnect_at\":null}}",
                column("hostname", "nulls-inside"));
        accept("service_failed: only the unit", "service_failed", "{\"unit\":\"only-unit.service\"}", serviceFailed("only-unit.service"));
        accept("service_failed: optional fields null", "service_failed",
                "{\"unit\":\"nulls.service\",\"result\":null,\"exit_status\":null,\"event_id\":null,\"ts\":null}", serviceFailed("nulls.service"));
        accept("status: ts null", "status", "{\"state\":\"offline\",\"ts\":null}", column("connection_state", "offline"));

        // Unicode edge cases
        reject("health: escaped NUL in hostname", "health", with("health", "hostname", "\"lobby\\u0000-01\""), "invalid_field");
        reject("health: escaped NUL in a key", "health", "{\"host\\u0000name\":\"x\"}", "invalid_field");
        reject("heartbeat: escaped NUL in an unknown field", "heartbeat", with("heartbeat", "note", "\"a\\u0000\""), "invalid_field");
        reject("service_failed: escaped NUL deep in the detail", "service_failed",
                with("service_failed", "extra", "{\"a\":[{\"b\":\"\\u0000\"}]}"), "invalid_field");
        reject("health: lone high surrogate in hostname", "health", with("health", "hostname", "\"lobby\\ud800\""), "invalid_field");
        reject("health: lone low surrogate in hostname", "health", with("health", "hostname", "\"\\udc00lobby\""), "invalid_field");
        reject("service_failed: reversed surrogate pair in unit", "service_failed", with("service_failed", "unit", "\"\\udc00\\ud800\""), "invalid_field");
        reject("heartbeat: lone surrogate in an unknown field", "heartbeat", with("heartbeat", "note", "\"\\ud83d\""), "invalid_field");
        reject("commands/ack: lone surrogate in detail", "commands/ack", with("commands/ack", "detail", "\"\\ud800\""), "invalid_field");
        reject("health: byte order mark before the JSON", "health", concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                utf8(object(base("health", "")))), "invalid_json");
        // ASCII as UTF-16LE is valid UTF-8 (with NUL bytes between the characters), but not JSON
        reject("heartbeat: UTF-16LE payload", "heartbeat", "{\"ts\":null}".getBytes(StandardCharsets.UTF_16LE), "invalid_json");
        reject("heartbeat: UTF-16 payload with BOM", "heartbeat", "{\"ts\":null}".getBytes(StandardCharsets.UTF_16), "invalid_encoding");
        reject("health: overlong encoding of '/'", "health", concat(utf8("{\"hostname\":\"a"), new byte[] {(byte) 0xC0, (byte) 0xAF}, utf8("\"}")), "invalid_encoding");
        reject("health: overlong NUL", "health", concat(utf8("{\"hostname\":\"a"), new byte[] {(byte) 0xC0, (byte) 0x80}, utf8("\"}")), "invalid_encoding");
        reject("health: CESU-8 surrogate", "health", concat(utf8("{\"hostname\":\""), new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, utf8("\"}")), "invalid_encoding");
        reject("service_failed: lone continuation byte", "service_failed", concat(utf8("{\"unit\":\""), new byte[] {(byte) 0x80}, utf8("\"}")), "invalid_encoding");
        reject("service_failed: truncated multi-byte sequence", "service_failed", concat(utf8("{\"unit\":\"\u20ac"), new byte[] {(byte) 0xE2, (byte) 0x82}), "invalid_encoding");
        reject("status: latin-1 text", "status", "{\"state\":\"online\",\"note\":\"café\"}".getBytes(StandardCharsets.ISO_8859_1), "invalid_encoding");
        reject("commands/ack: code point above U+10FFFF", "commands/ack", concat(utf8("{\"detail\":\""), new byte[] {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, utf8("\"}")), "invalid_encoding");
        for (String[] u : new String[][] {
                {"right-to-left override", "lobby\u202E10-yalpsid"},
                {"non-character U+FFFE", "x\uFFFEy"},
                {"non-character U+FFFF", "x\uFFFFy"},
                {"non-character U+FDD0", "x\uFDD0y"},
                {"byte order mark inside a string", "\uFEFFlobby"},
                {"zero-width joiner and combining marks", "e\u0301\u200D\u0308"},
                {"emoji and astral plane", "\uD83D\uDCFA lobby \uD800\uDF48"},
                {"escaped control characters", "a\u0001b\u001Fc"},
                {"Arabic and Hebrew", "\u0634\u0627\u0634\u0629 \u05DE\u05E1\u05DA"}}) {
            accept("health: hostname with " + u[0], "health", with("health", "hostname", quoted(u[1]).replace("\u0001", "\\u0001").replace("\u001F", "\\u001f")),
                    column("hostname", u[1]));
        }

        // numbers out of range
        for (String v : List.of("2147483648", "-2147483649", "1e400", "-1e400", "99999999999999999999")) {
            reject("service_failed: exit_status = " + v, "service_failed", with("service_failed", "exit_status", v), "invalid_field");
        }
        accept("service_failed: exit_status = -2147483648", "service_failed",
                "{\"unit\":\"min-int.service\",\"exit_status\":-2147483648}", serviceFailed("min-int.service"));
        accept("service_failed: exit_status = 255", "service_failed", "{\"unit\":\"u255.service\",\"exit_status\":255}", serviceFailed("u255.service"));
        for (String v : List.of("\"1969-12-31T23:59:59Z\"", "\"+10000-01-01T00:00:00Z\"", "\"0000-01-01T00:00:00Z\"")) {
            reject("heartbeat: ts out of range " + v, "heartbeat", with("heartbeat", "ts", v), "invalid_field");
        }
        accept("heartbeat: ts 9999-12-31T23:59:59Z (a device clock far ahead)", "heartbeat",
                "{\"ts\":\"9999-12-31T23:59:59Z\"}", (t, c) -> assertThat(t.scalar(
                        "SELECT extract(year FROM last_device_ts AT TIME ZONE 'UTC') FROM clients WHERE uuid = ?", c)).hasToString("9999"));
        accept("heartbeat: ts 1970-01-01T00:00:00Z (a device clock never set)", "heartbeat", "{\"ts\":\"1970-01-01T00:00:00Z\"}", registered());
        accept("health: reconnect_count 2147483647", "health", "{\"broker_connection\":{\"reconnect_count\":2147483647}}",
                column("mqtt_reconnect_count", 2147483647));

        // SQL- and script-looking text is data: stored verbatim, never executed
        for (String[] s : new String[][] {
                {"SQL comment and DROP", "'; DROP TABLE clients; --"},
                {"Bobby Tables", "Robert'); DROP TABLE client_events;--"},
                {"tautology", "x' OR '1'='1"},
                {"named parameter lookalike", ":#uuid ${header.fleetKind} {{fleet.db.url}}"},
                {"script tag", "<script>alert(1)</script>"},
                {"attribute breakout", "\"><img src=x onerror=alert(1)>"},
                {"JNDI lookup", "${jndi:ldap://127.0.0.1/a}"},
                {"shell substitution", "$(reboot) `halt`"}}) {
            accept("health: hostname " + s[0], "health", with("health", "hostname", quoted(s[1])), column("hostname", s[1]));
        }
        accept("service_failed: SQL-looking unit and event_id", "service_failed",
                "{\"unit\":\"a'; DELETE FROM client_events; --\",\"event_id\":\"1; TRUNCATE rejected_messages\"}",
                serviceFailed("a'; DELETE FROM client_events; --"));
        rejectTopic("SQL-looking UUID level", topicPrefix() + "/'; DROP TABLE clients;--/heartbeat", utf8("{}"), "invalid_topic", null);
        rejectTopic("script-looking UUID level", topicPrefix() + "/<script>alert(1)<%2Fscript>/health", utf8("{}"), "invalid_topic", null);

        // invalid and mismatched UUIDs in topics and payloads
        String good = UUID.randomUUID().toString();
        for (String[] u : new String[][] {
                {"not a UUID", "not-a-uuid-" + good.substring(0, 8)},
                {"35 characters", good.substring(0, 35)},
                {"37 characters", good + "0"},
                {"non-hex digits", "g" + good.substring(1)},
                {"no dashes", good.replace("-", "")},
                {"dashes misplaced", good.substring(0, 7) + "-" + good.charAt(7) + good.substring(9)},
                {"braces", "{" + good + "}"},
                {"URN form", "urn:uuid:" + good},
                {"whitespace", " " + good},
                {"empty level", ""}}) {
            rejectTopic("topic UUID " + u[0], topicPrefix() + "/" + u[1] + "/heartbeat", utf8("{}"), "invalid_topic", null);
        }
        UUID upper = UUID.randomUUID();
        name("mqtt heartbeat: upper-case UUID in the topic is the same client");
        mqtt.add(new MqttCase("mqtt heartbeat: upper-case UUID in the topic is the same client",
                topicPrefix() + "/" + upper.toString().toUpperCase() + "/heartbeat", utf8("{}"), null, upper, registered()));
        UUID other = UUID.randomUUID();
        accept("health: a UUID in the payload is ignored (the topic is the identity)", "health",
                "{\"uuid\":\"" + other + "\",\"client_uuid\":\"" + other + "\",\"hostname\":\"topic-wins\"}",
                (t, c) -> {
                    assertThat(t.scalar("SELECT hostname FROM clients WHERE uuid = ?", c)).isEqualTo("topic-wins");
                    assertThat(t.scalar("SELECT count(*) FROM clients WHERE uuid = ?", other)).isEqualTo(0L);
                });
        for (String v : List.of("\"not-a-uuid\"", "\"" + good.replace("-", "") + "\"", "\"{" + good + "}\"", "\"" + good + " \"", "\"\"")) {
            reject("commands/ack: command_id " + v, "commands/ack", with("commands/ack", "command_id", v), "invalid_field");
        }
        reject("commands/ack: command_id nobody issued", "commands/ack", with("commands/ack", "command_id", "\"" + UUID.randomUUID() + "\""), "unknown_command");
        // acks for real commands (inserted by prepare()): another client's, and valid acks in unusual shapes
        UUID othersCommand = UUID.randomUUID();
        commands.put(othersCommand, otherClient);
        UUID mismatch = UUID.randomUUID();
        rejectTopic("commands/ack: command of another client (client_mismatch)", topic(mismatch, "commands/ack"),
                utf8("{\"command_id\":\"" + othersCommand + "\",\"status\":\"completed\"}"), "client_mismatch", mismatch);
        for (String[] a : new String[][] {
                {"upper-case command_id", "completed", "ok"},
                {"unknown fields and nulls beside a valid ack", "executing", "ok"},
                {"detail of exactly 2048 characters", "failed", "d".repeat(2048)},
                {"SQL-looking detail", "rejected", "'); UPDATE client_commands SET status = 'completed'; --"}}) {
            UUID id = UUID.randomUUID();
            commands.put(id, ackClient);
            String idText = a[0].startsWith("upper") ? id.toString().toUpperCase() : id.toString();
            String extra = a[0].startsWith("unknown") ? ",\"boot_id\":null,\"ts\":null,\"progress\":{\"pct\":50}" : "";
            String payload = "{\"command_id\":\"" + idText + "\",\"status\":\"" + a[1] + "\",\"detail\":" + quoted(a[2]) + extra + "}";
            String name = "mqtt commands/ack: " + a[0];
            name(name);
            String expectedStatus = a[1];
            String expectedDetail = a[2];
            mqtt.add(new MqttCase(name, topic(ackClient, "commands/ack"), utf8(payload), null, ackClient, (t, c) -> {
                assertThat(t.status(id.toString())).isEqualTo(expectedStatus);
                assertThat(t.scalar("SELECT detail FROM client_commands WHERE id = ?", id)).isEqualTo(expectedDetail);
            }));
        }

        // topics with missing or extra levels, and unknown kinds
        UUID t = UUID.randomUUID();
        rejectTopic("topic is only the prefix", topicPrefix(), utf8("{}"), "invalid_topic", null);
        rejectTopic("topic is the prefix and a slash", topicPrefix() + "/", utf8("{}"), "invalid_topic", null);
        rejectTopic("topic without a kind", topicPrefix() + "/" + t, utf8("{}"), "invalid_topic", t);
        UUID t2 = UUID.randomUUID();
        rejectTopic("topic with an empty kind", topicPrefix() + "/" + t2 + "/", utf8("{}"), "invalid_topic", t2);
        for (String kind : List.of("health/extra", "heartbeat/", "commands/ack/extra", "commands/acks", "service_failed/x/y",
                "Heartbeat", "status ", "firmware", "commands/", "commands/ack/")) {
            reject("topic kind '" + kind + "'", kind, "{}", "invalid_topic");
        }
        UUID cmdTopic = UUID.randomUUID();
        name("mqtt commands topic: the server's own commands are ignored, not quarantined");
        mqtt.add(new MqttCase("mqtt commands topic: the server's own commands are ignored, not quarantined",
                topic(cmdTopic, "commands"), utf8("garbage on the commands topic"), null, cmdTopic,
                (tt, c) -> assertThat(tt.scalar("SELECT count(*) FROM clients WHERE uuid = ?", c)).isEqualTo(0L)));
        return mqtt;
    }

    // ---- what the corpus needs in the database ---------------------------------------------

    private final UUID ackClient = UUID.randomUUID();
    private final UUID otherClient = UUID.randomUUID();
    /** Commands the ack cases refer to: id -> client. */
    private final Map<UUID, UUID> commands = new LinkedHashMap<>();

    /** Registers the clients and inserts the commands some cases refer to, then publishes the whole MQTT corpus. */
    private void prepare() {
        if (preparation != null) {
            throw new IllegalStateException("the corpus could not be prepared", preparation);
        }
        if (published) {
            return;
        }
        try {
            publishCorpus();
        } catch (RuntimeException e) {
            preparation = e;
            throw e;
        }
    }

    private RuntimeException preparation;

    private void publishCorpus() {
        mqttCorpus();
        registerClient(ackClient);
        registerClient(otherClient);
        commands.forEach((id, client) -> update("""
                INSERT INTO client_commands (id, client_uuid, action, status, published_at, expires_at)
                VALUES (?, ?, 'restart_app', 'published', now(), now() + interval '1 hour')""", id, client));
        publishAll(mqtt);
        published = true;
    }

    /** Publishes every case at QoS 1, in order, without waiting for each PUBACK in turn (one connection). */
    private void publishAll(List<MqttCase> cases) {
        try {
            org.eclipse.paho.mqttv5.client.MqttAsyncClient c = new org.eclipse.paho.mqttv5.client.MqttAsyncClient(
                    mqttUrl(), "corpus-" + clientId(), new org.eclipse.paho.mqttv5.client.persist.MemoryPersistence());
            c.connect().waitForCompletion(10_000);
            List<org.eclipse.paho.mqttv5.client.IMqttToken> tokens = new ArrayList<>();
            for (MqttCase mc : cases) {
                org.eclipse.paho.mqttv5.common.MqttMessage m = new org.eclipse.paho.mqttv5.common.MqttMessage(mc.payload());
                m.setQos(1);
                await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2)).pollInSameThread().until(() -> {
                    try {
                        tokens.add(c.publish(mc.topic(), m));
                        return true;
                    } catch (org.eclipse.paho.mqttv5.common.MqttException e) {
                        if (e.getReasonCode() == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_MAX_INFLIGHT) {
                            return false;
                        }
                        throw e;
                    }
                });
            }
            for (org.eclipse.paho.mqttv5.client.IMqttToken t : tokens) {
                t.waitForCompletion(10_000);
            }
            c.disconnect().waitForCompletion(5_000);
            c.close();
        } catch (org.eclipse.paho.mqttv5.common.MqttException e) {
            throw new IllegalStateException(e);
        }
    }

    List<MqttCase> mqttCases() {
        return mqttCorpus();
    }

    @Order(1)
    @ParameterizedTest(name = "{0}")
    @MethodSource("mqttCases")
    void mqttInput(MqttCase c) {
        prepare();
        if (c.reason() != null) {
            await().atMost(WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> assertThat(
                    query("SELECT reason, detail FROM rejected_messages WHERE topic = ?", c.topic())).hasSize(1));
            Map<String, Object> row = query("SELECT reason, detail, payload_size FROM rejected_messages WHERE topic = ?", c.topic()).get(0);
            assertThat(row.get("reason")).as("reason (detail: %s)", row.get("detail")).isEqualTo(c.reason());
            assertThat((String) row.get("detail")).isNotBlank();
            assertThat(row.get("payload_size")).isEqualTo(c.payload().length);
            if (c.client() != null) {
                assertThat(scalar("SELECT count(*) FROM clients WHERE uuid = ?", c.client())).as("a rejected message registers no client").isEqualTo(0L);
            }
        } else {
            await().atMost(WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
                    .untilAsserted(() -> c.stored().verify(this, c.client()));
            assertThat(query("SELECT reason, detail FROM rejected_messages WHERE topic = ?", c.topic())).as("not quarantined").isEmpty();
        }
        assertAllRoutesStarted();
    }

    // ---- REST ----------------------------------------------------------------------------------

    private final List<UUID> restClients = new ArrayList<>();

    private void restCase(String name, String method, String path, byte[] body, String contentType, int status, String error) {
        restCase(name, method, path, body, contentType, status, error, null, null);
    }

    private void restCase(String name, String method, String path, byte[] body, String contentType, int status, String error,
                          Stored stored, UUID client) {
        name("rest " + name);
        rest.add(new RestCase("rest " + name, method, path, body, contentType, status, error, stored, client, "admin"));
    }

    private void command(String name, String body, int status, String error) {
        command(name, utf8(body), status, error);
    }

    private void command(String name, byte[] body, int status, String error) {
        restCase("POST commands: " + name, "POST", "/api/clients/{client}/commands", body, "application/json", status, error);
    }

    /** A body that is valid: 202, and the command's stored reason is the one sent. */
    private void commandAccepted(String name, String body, String expectedReason) {
        UUID client = UUID.randomUUID();
        restCase("POST commands: " + name, "POST", "/api/clients/" + client + "/commands", utf8(body), "application/json", 202, null,
                (t, c) -> assertThat(t.scalar("SELECT reason FROM client_commands WHERE client_uuid = ?", c)).isEqualTo(expectedReason),
                client);
    }

    private void powerTarget(String name, byte[] body, int status, String error) {
        restCase("PUT power_target: " + name, "PUT", "/api/clients/{client}/power_target", body, "application/json", status, error);
    }

    List<RestCase> restCases() {
        if (!rest.isEmpty()) {
            return rest;
        }
        Random r = new Random(SEED + 1);
        for (int i = 0; i < 4; i++) {
            byte[] b = new byte[4 + r.nextInt(60)];
            r.nextBytes(b);
            b[0] = (byte) 0xFF;
            command("random bytes #" + i, b, 400, "invalid_body");
        }
        String full = "{\"action\":\"restart_app\",\"reason\":\"corpus\",\"ttl_s\":60,\"force\":false}";
        for (int cut : new int[] {1, 10, full.length() / 2, full.length() - 1}) {
            command("truncated at " + cut, full.substring(0, cut), 400, "invalid_body");
        }
        command("empty body", "", 400, "invalid_body");
        command("blank body", " \n ", 400, "invalid_body");
        command("trailing second object", full + "{}", 400, "invalid_body");
        command("comment", "{/**/\"action\":\"restart_app\"}", 400, "invalid_body");
        for (String v : List.of("[]", "[{\"action\":\"restart_app\"}]", "\"restart_app\"", "42", "true", "null")) {
            command("top-level " + v, v, 400, "invalid_body");
        }
        command("arrays nested 2000 deep", nested("[", "]", "1", 2000), 400, "invalid_body");
        command("reason nested 2000 deep", "{\"action\":\"restart_app\",\"reason\":" + nested("[", "]", "1", 2000) + "}", 400, "invalid_body");
        command("reason nested 20 deep", "{\"action\":\"restart_app\",\"reason\":" + nested("{\"r\":", "}", "1", 20) + "}", 400, "invalid_body");
        command("reason of 501 characters", "{\"action\":\"restart_app\",\"reason\":" + quoted("r".repeat(501)) + "}", 400, "invalid_body");
        command("body of 2 MB", "{\"action\":\"restart_app\",\"reason\":" + quoted("r".repeat(2_000_000)) + "}", 413, "body_too_large");
        command("array of 100000 actions", "{\"action\":[" + "\"restart_app\",".repeat(99_999) + "\"restart_app\"]}", 413, "body_too_large");
        command("array of 3000 actions", "{\"action\":[" + "\"restart_app\",".repeat(2_999) + "\"restart_app\"]}", 400, "unknown_action");
        for (String v : List.of("42", "true", "[]", "{}", "null", "[\"restart_app\"]")) {
            command("action = " + v, "{\"action\":" + v + "}", 400, "unknown_action");
        }
        command("action missing", "{\"reason\":\"x\"}", 400, "unknown_action");
        for (String v : List.of("\"format_disk\"", "\"\"", "\" restart_app\"", "\"RESTART_APP\"", "\"restart_app\\u0000\"",
                "\"power_cycle\"", "\"reboot-host\"", "\"'; DROP TABLE client_commands; --\"")) {
            // a NUL anywhere in the body is refused before the action is looked at
            command("unknown action " + v, "{\"action\":" + v + "}", 400, v.contains("u0000") ? "invalid_body" : "unknown_action");
        }
        for (String v : List.of("\"60\"", "1.5", "true", "[]", "{}", "-1", "9", "86401", "1e10", "1e400", "9223372036854775808", "60.0")) {
            command("ttl_s = " + v, "{\"action\":\"restart_app\",\"ttl_s\":" + v + "}", 400, "invalid_ttl");
        }
        command("ttl_s NaN", "{\"action\":\"restart_app\",\"ttl_s\":NaN}", 400, "invalid_body");
        for (String v : List.of("\"true\"", "1", "[]", "\"yes\"", "{}")) {
            command("force = " + v, "{\"action\":\"restart_app\",\"force\":" + v + "}", 400, "invalid_body");
        }
        for (String v : List.of("42", "[]", "{}", "true")) {
            command("reason = " + v, "{\"action\":\"restart_app\",\"reason\":" + v + "}", 400, "invalid_body");
        }
        command("unknown field", "{\"action\":\"restart_app\",\"forced\":true}", 400, "invalid_body");
        command("unknown field client_uuid", "{\"action\":\"restart_app\",\"client_uuid\":\"" + UUID.randomUUID() + "\"}", 400, "invalid_body");
        command("duplicate key", "{\"action\":\"restart_app\",\"action\":\"reboot_host\"}", 400, "invalid_body");
        command("NUL in reason", "{\"action\":\"restart_app\",\"reason\":\"a\\u0000b\"}", 400, "invalid_body");
        command("lone surrogate in reason", "{\"action\":\"restart_app\",\"reason\":\"a\\ud800b\"}", 400, "invalid_body");
        command("invalid UTF-8 in reason", concat(utf8("{\"action\":\"restart_app\",\"reason\":\"a"), new byte[] {(byte) 0xC3, (byte) 0x28}, utf8("\"}")), 400, "invalid_body");
        command("latin-1 body", "{\"action\":\"restart_app\",\"reason\":\"café\"}".getBytes(StandardCharsets.ISO_8859_1), 400, "invalid_body");
        command("byte order mark before the JSON", concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, utf8("{\"action\":\"restart_app\"}")), 400, "invalid_body");
        command("UTF-16 body", "{\"action\":\"restart_app\"}".getBytes(StandardCharsets.UTF_16), 400, "invalid_body");
        restCase("POST commands: form content type", "POST", "/api/clients/{client}/commands",
                utf8("action=restart_app"), "application/x-www-form-urlencoded", 400, "invalid_body");
        for (String v : List.of("null", "\"\"")) {
            commandAccepted("reason " + v + " and ttl_s, force null", "{\"action\":\"restart_app\",\"reason\":" + v + ",\"ttl_s\":null,\"force\":null}",
                    "null".equals(v) ? null : "");
        }
        for (String[] s : new String[][] {
                {"SQL-looking reason", "'); DELETE FROM client_commands; --"},
                {"script-looking reason", "<script>alert(document.cookie)</script>"},
                {"placeholder-looking reason", "${header.CamelHttpMethod} {{fleet.db.url}} :#uuid"},
                {"right-to-left override in reason", "frozen \u202Eneercs"},
                {"emoji and non-characters in reason", "\uD83D\uDCFA\uFFFE\uFDD0 restart"},
                {"reason of exactly 500 emoji", "\uD83D\uDCFA".repeat(500)}}) {
            commandAccepted(s[0], "{\"action\":\"restart_app\",\"reason\":" + quoted(s[1]) + "}", s[1]);
        }
        // UUIDs in the path
        String good = UUID.randomUUID().toString();
        for (String op : List.of("commands", "clear_service_failed", "clear_recovery")) {
            String body = "commands".equals(op) ? "{\"action\":\"restart_app\"}" : "";
            for (String[] u : new String[][] {
                    {"not a UUID", "not-a-uuid"},
                    {"37 characters", good + "0"},
                    {"no dashes", good.replace("-", "")},
                    {"braces", "%7B" + good + "%7D"},
                    {"SQL-looking", "1%27%20OR%20%271%27%3D%271"},
                    {"encoded NUL", good.substring(0, 35) + "%00"}}) {
                restCase("POST " + op + ": client " + u[0], "POST", "/api/clients/" + u[1] + "/" + op, utf8(body), "application/json", 400, "invalid_uuid");
            }
            restCase("POST " + op + ": unknown client", "POST", "/api/clients/" + UUID.randomUUID() + "/" + op, utf8(body), "application/json",
                    404, "client_not_found");
        }
        // operations without a body ignore whatever is sent
        for (String op : List.of("clear_service_failed", "clear_recovery")) {
            for (String[] b : new String[][] {{"garbage body", "\u0001\u0002 not json"}, {"JSON body", "{\"unit\":\"x\",\"drop\":\"'; DROP TABLE clients;--\"}"}}) {
                UUID client = UUID.randomUUID();
                restCase("POST " + op + ": " + b[0] + " is ignored", "POST", "/api/clients/" + client + "/" + op, utf8(b[1]), "application/json",
                        200, null, (t, c) -> assertThat(t.scalar("SELECT count(*) FROM clients WHERE uuid = ?", c)).isEqualTo(1L), client);
            }
        }
        for (String[] u : new String[][] {{"not a UUID", "not-a-uuid"}, {"35 characters", good.substring(0, 35)}, {"braces", "%7B" + good + "%7D"}}) {
            restCase("POST cancel: command id " + u[0], "POST", "/api/commands/" + u[1] + "/cancel", utf8("{}"), "application/json", 400, "invalid_command_id");
        }
        restCase("POST cancel: unknown command", "POST", "/api/commands/" + UUID.randomUUID() + "/cancel", utf8("{\"why\":1}"), "application/json",
                404, "command_not_found");
        UUID cancelClient = UUID.randomUUID();
        restCase("POST cancel: garbage body is ignored", "POST", "/api/commands/{command}/cancel", utf8("\u0000garbage"),
                "application/json", 200, null,
                (t, c) -> assertThat(t.scalar("SELECT status FROM client_commands WHERE client_uuid = ?", c)).isEqualTo("cancelled"), cancelClient);
        // PUT /api/clients/{uuid}/power_target (wake-on-lan: mac required and patterned, broadcast, port 1-65535)
        String wol = "{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\"}}";
        for (int i = 0; i < 3; i++) {
            byte[] b = new byte[4 + r.nextInt(60)];
            r.nextBytes(b);
            b[0] = (byte) 0xFE;
            powerTarget("random bytes #" + i, b, 400, "invalid_body");
        }
        for (int cut : new int[] {1, wol.length() / 2, wol.length() - 1}) {
            powerTarget("truncated at " + cut, utf8(wol.substring(0, cut)), 400, "invalid_body");
        }
        for (String v : List.of("", "[]", "\"wake-on-lan\"", "null", "42")) {
            powerTarget("body " + (v.isEmpty() ? "empty" : v), utf8(v), 400, "invalid_body");
        }
        powerTarget("params nested 2000 deep", utf8("{\"driver\":\"wake-on-lan\",\"params\":" + nested("{\"a\":", "}", "1", 2000) + "}"), 400, "invalid_body");
        powerTarget("invalid UTF-8", concat(utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\""), new byte[] {(byte) 0xC0, (byte) 0xAF}, utf8("\"}}")), 400, "invalid_body");
        powerTarget("lone surrogate in a parameter", utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\",\"broadcast\":\"10.0.0.255\\ud800\"}}"), 400, "invalid_body");
        powerTarget("NUL in a parameter", utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\\u0000\"}}"), 400, "invalid_body");
        powerTarget("unknown field", utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\"},\"password\":\"x\"}"), 400, "invalid_body");
        powerTarget("duplicate key", utf8("{\"driver\":\"wake-on-lan\",\"driver\":\"tasmota\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\"}}"), 400, "invalid_body");
        powerTarget("protected = \"yes\"", utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\"},\"protected\":\"yes\"}"), 400, "invalid_body");
        for (String v : List.of("42", "null", "[]", "\"\"", "\"nope\"", "\"WAKE-ON-LAN\"", "\"../../etc/passwd\"", "\"wake-on-lan; rm -rf /\"")) {
            powerTarget("driver = " + v, utf8("{\"driver\":" + v + ",\"params\":{}}"), 400, "unknown_driver");
        }
        powerTarget("driver missing", utf8("{\"params\":{\"mac\":\"b8:27:eb:12:34:56\"}}"), 400, "unknown_driver");
        for (String[] v : new String[][] {{"params missing", "null"}, {"params a string", "\"mac\""}, {"params an array", "[]"},
                {"mac missing", "{}"}, {"mac a number", "{\"mac\":42}"}, {"mac not a MAC", "{\"mac\":\"not-a-mac\"}"},
                {"SQL-looking mac", "{\"mac\":\"'; DROP TABLE power_targets; --\"}"}, {"port 0", "{\"mac\":\"b8:27:eb:12:34:56\",\"port\":0}"},
                {"port 65536", "{\"mac\":\"b8:27:eb:12:34:56\",\"port\":65536}"}, {"port a string", "{\"mac\":\"b8:27:eb:12:34:56\",\"port\":\"9\"}"},
                {"port 1e400", "{\"mac\":\"b8:27:eb:12:34:56\",\"port\":1e400}"}, {"unknown parameter", "{\"mac\":\"b8:27:eb:12:34:56\",\"vlan\":3}"}}) {
            powerTarget(v[0], utf8("{\"driver\":\"wake-on-lan\",\"params\":" + v[1] + "}"), 400, "invalid_params");
        }
        for (String v : List.of("42", "\"DATABASE_PASSWORD\"", "\"power_lobby\"", "\"POWER_NOT_SET_ANYWHERE\"")) {
            powerTarget("secret_ref = " + v, utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\"},\"secret_ref\":" + v + "}"),
                    400, "invalid_secret_ref");
        }
        UUID targetClient = UUID.randomUUID();
        restCase("PUT power_target: a valid target with an unknown-looking but valid broadcast is stored", "PUT",
                "/api/clients/" + targetClient + "/power_target",
                utf8("{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"B8-27-EB-12-34-56\",\"broadcast\":\"<script>x</script>\"},\"protected\":null}"),
                "application/json", 200, null,
                (t, c) -> assertThat(t.scalar("SELECT driver FROM power_targets WHERE client_uuid = ?", c)).isEqualTo("wake-on-lan"), targetClient);
        restCase("POST power_cycle: a display that is online is not power cycled without force", "POST",
                "/api/clients/" + targetClient + "/power_cycle", utf8("{\"reason\":\"corpus\"}"), "application/json", 409, "client_online");
        restCase("PUT power_target: unknown client", "PUT", "/api/clients/" + UUID.randomUUID() + "/power_target", utf8(wol),
                "application/json", 404, "client_not_found");
        restCase("PUT power_target: client not a UUID", "PUT", "/api/clients/not-a-uuid/power_target", utf8(wol), "application/json", 400, "invalid_uuid");

        // POST /api/clients/{uuid}/power_cycle (the bystander has no power target)
        for (String[] v : new String[][] {{"not JSON", "not json", "invalid_body"}, {"truncated", "{\"reason\":", "invalid_body"},
                {"an array", "[]", "invalid_body"}, {"unknown field", "{\"action\":\"power_cycle\"}", "invalid_body"},
                {"force a string", "{\"force\":\"true\"}", "invalid_body"}, {"reason a number", "{\"reason\":5}", "invalid_body"},
                {"lone surrogate in reason", "{\"reason\":\"\\udfff\"}", "invalid_body"}, {"ttl_s 5", "{\"ttl_s\":5}", "invalid_ttl"},
                {"ttl_s a string", "{\"ttl_s\":\"60\"}", "invalid_ttl"}, {"duplicate key", "{\"force\":true,\"force\":false}", "invalid_body"}}) {
            restCase("POST power_cycle: body " + v[0], "POST", "/api/clients/{client}/power_cycle", utf8(v[1]), "application/json", 400, v[2]);
        }
        restCase("POST power_cycle: invalid UTF-8", "POST", "/api/clients/{client}/power_cycle",
                concat(utf8("{\"reason\":\""), new byte[] {(byte) 0xFF}, utf8("\"}")), "application/json", 400, "invalid_body");
        restCase("POST power_cycle: no power target", "POST", "/api/clients/{client}/power_cycle", utf8("{}"), "application/json",
                404, "power_target_not_found");
        restCase("POST power_cycle: an empty body is a valid request (no power target)", "POST", "/api/clients/{client}/power_cycle", new byte[0],
                "application/json", 404, "power_target_not_found");
        restCase("POST power_cycle: client not a UUID", "POST", "/api/clients/%27%3B--/power_cycle", utf8("{}"), "application/json", 400, "invalid_uuid");

        // the same bodies without a token, with an unknown one, or with a role below the operation's
        for (String[] a : new String[][] {{"none", "401", "unauthorized"}, {"bogus", "401", "unauthorized"}, {"viewer", "403", "forbidden"}}) {
            for (String[] b : new String[][] {{"valid body", "{\"action\":\"restart_app\"}"}, {"garbage body", "\u0000\u00ff not json"},
                    {"SQL-looking body", "{\"action\":\"'; DROP TABLE client_commands; --\"}"}}) {
                String n = "rest POST commands: " + b[0] + " with token " + a[0];
                name(n);
                rest.add(new RestCase(n, "POST", "/api/clients/{client}/commands", utf8(b[1]), "application/json",
                        Integer.parseInt(a[1]), a[2], null, null, a[0]));
            }
            for (String op : List.of("clear_service_failed", "clear_recovery")) {
                String n = "rest POST " + op + ": with token " + a[0];
                name(n);
                rest.add(new RestCase(n, "POST", "/api/clients/{client}/" + op, utf8("{}"), "application/json",
                        Integer.parseInt(a[1]), a[2], null, null, a[0]));
            }
        }
        return rest;
    }

    @Order(2)
    @ParameterizedTest(name = "{0}")
    @MethodSource("restCases")
    void restInput(RestCase c) throws Exception {
        prepare();
        String path = c.path();
        if (c.client() != null) {
            registerClient(c.client());
        }
        if (path.contains("{client}")) {
            path = path.replace("{client}", bystander().toString());
        }
        if (path.contains("{command}")) {
            path = path.replace("{command}", createdId(c.client(), "{\"action\":\"restart_app\"}"));
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort() + path))
                .timeout(Duration.ofSeconds(20))
                .method(c.method(), HttpRequest.BodyPublishers.ofByteArray(c.body()));
        if (c.contentType() != null) {
            b.header("Content-Type", c.contentType());
        }
        switch (c.token()) {
            case "none" -> { }
            case "bogus" -> b.header("Authorization", "Bearer not-a-configured-token");
            default -> b.header("Authorization", "Bearer " + token(org.infoscreen.fleet.security.Role.valueOf(c.token().toUpperCase())));
        }
        HttpResponse<String> r = restClient.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (c.error() != null) {
            // {"error", "message"} and, for some codes, documented extra fields (invalid_params: missing, unknown, invalid)
            assertThat(r.statusCode()).as(r.body()).isEqualTo(c.status());
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
            JsonNode body = json(r.body());
            assertThat(body.path("error").asText()).as(r.body()).isEqualTo(c.error());
            assertThat(body.path("message").asText()).isNotBlank();
            assertThat(iterable(body.fieldNames())).as("fields of %s", r.body())
                    .isSubsetOf("error", "message", "missing", "unknown", "invalid", "command_id", "retry_after_s");
        } else {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(c.status());
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
            JsonNode body = json(r.body());
            assertThat(body.has("error")).isFalse();
            c.stored().verify(this, c.client());
        }
        assertAllRoutesStarted();
    }

    private final HttpClient restClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private UUID bystander;

    /** A registered client that only ever gets invalid requests (so no lockout gets in the way). */
    private UUID bystander() {
        if (bystander == null) {
            bystander = UUID.randomUUID();
            registerClient(bystander);
        }
        return bystander;
    }

    private void registerClient(UUID client) {
        publish(client, "heartbeat", "{}");
        await().atMost(WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20)).until(() -> events(client, "client_registered") == 1);
    }

    // ---- after the corpus ------------------------------------------------------------------------

    @Order(3)
    @Test
    void goodInputAfterTheCorpusIsStoredAndNothingWasAnInternalError() {
        prepare();
        assertThat(mqttCases()).hasSizeGreaterThanOrEqualTo(200);
        assertThat(mqttCases().size() + restCases().size()).isGreaterThanOrEqualTo(300);
        UUID good = UUID.randomUUID();
        publish(good, "health", "{\"hostname\":\"after-the-corpus\",\"process_status\":\"running\",\"boot_id\":\"b-1\"}");
        publish(good, "service_failed", "{\"unit\":\"after.service\",\"event_id\":\"after-1\"}");
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(scalar("SELECT hostname FROM clients WHERE uuid = ?", good)).isEqualTo("after-the-corpus");
            assertThat(events(good, "service_failed")).isEqualTo(1);
        });
        String id = createdId(good, "{\"action\":\"restart_app\",\"reason\":\"after the corpus\"}");
        publish(good, "commands/ack", "{\"command_id\":\"" + id + "\",\"status\":\"completed\"}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(scalar("SELECT count(*) FROM rejected_messages WHERE reason = 'internal_error'")).isEqualTo(0L);
        // every message before the good one has been processed now: accepted and ignored input was never quarantined
        for (MqttCase c : mqttCases()) {
            if (c.reason() == null) {
                assertThat(query("SELECT reason FROM rejected_messages WHERE topic = ?", c.topic())).as(c.name()).isEmpty();
            }
        }
        assertThat(http("GET", "/api/clients").statusCode()).isEqualTo(200);
        assertAllRoutesStarted();
    }

    private void assertAllRoutesStarted() {
        for (Route route : context.getRoutes()) {
            if (route.isAutoStartup()) {
                assertThat(context.getRouteController().getRouteStatus(route.getRouteId())).as(route.getRouteId()).isEqualTo(ServiceStatus.Started);
            }
        }
    }
}
