package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every REST endpoint: status codes, JSON bodies ({@code {"error","message"}} on failure),
 * pagination, the OpenAPI document, and that responses never echo request headers or query
 * parameters as response headers. Default thresholds: nothing turns stale during this class.
 */
class RestApiTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(10);

    // ---- GET /api/clients ----------------------------------------------------------------

    @Test
    void listClientsReturnsEveryClientAndFiltersByLivenessState() {
        UUID online = UUID.randomUUID();
        publish(online, "health", "{\"hostname\":\"rest-list-online\",\"process_status\":\"running\"}");
        UUID crashed = insertClient("rest-list-crashed", "crashed", "now()", "crashed");
        UUID stale = insertClient("rest-list-stale", "stale", "now() - interval '1 hour'", null);
        await().atMost(WAIT).until(() -> scalar("SELECT count(*) FROM clients WHERE uuid = ?", online).equals(1L));

        HttpResponse<String> all = http("GET", "/api/clients");
        assertThat(all.statusCode()).isEqualTo(200);
        assertThat(all.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = json(all.body());
        assertThat(body.path("count").asLong()).isEqualTo(body.path("clients").size())
                .isEqualTo(scalar("SELECT count(*) FROM clients"));
        assertThat(uuids(body)).contains(online.toString(), crashed.toString(), stale.toString());
        assertSnakeCase(body.path("clients").get(0));

        JsonNode onlyCrashed = getJson("/api/clients?liveness_state=crashed");
        assertThat(uuids(onlyCrashed)).contains(crashed.toString()).doesNotContain(online.toString(), stale.toString());
        onlyCrashed.path("clients").forEach(c -> assertThat(c.path("liveness_state").asText()).isEqualTo("crashed"));

        JsonNode onlyStale = getJson("/api/clients?liveness_state=stale");
        assertThat(uuids(onlyStale)).contains(stale.toString()).doesNotContain(online.toString(), crashed.toString());

        JsonNode onlyOnline = getJson("/api/clients?liveness_state=online");
        assertThat(uuids(onlyOnline)).contains(online.toString()).doesNotContain(crashed.toString(), stale.toString());

        JsonNode none = getJson("/api/clients?liveness_state=offline");
        assertThat(none.path("count").asInt()).isZero();
        assertThat(none.path("clients").isArray()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"bogus", "ONLINE", "online,stale", "%20online"})
    void listClientsWithAnInvalidLivenessStateIs400(String value) {
        HttpResponse<String> r = http("GET", "/api/clients?liveness_state=" + value);
        assertError(r, 400, "invalid_liveness_state");
    }

    // ---- GET /api/clients/{uuid} ---------------------------------------------------------

    @Test
    void getClientReturnsItsFieldsAndHealthSnapshot() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", """
                {"ts":"2026-11-29T12:00:00Z","hostname":"rest-detail","ip":"10.9.8.7","app_version":"3.2.1",
                 "process_status":"running","boot_id":"boot-rest","system":{"disk_free_mb":512},
                 "broker_connection":{"reconnect_count":5,"last_disconnect_at":"2026-11-29T11:00:00Z"}}""");
        await().atMost(WAIT).until(() -> http("GET", "/api/clients/" + uuid).statusCode() == 200);

        HttpResponse<String> r = http("GET", "/api/clients/" + uuid);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode c = json(r.body());
        assertThat(c.path("uuid").asText()).isEqualTo(uuid.toString());
        assertThat(c.path("hostname").asText()).isEqualTo("rest-detail");
        assertThat(c.path("ip").asText()).isEqualTo("10.9.8.7");
        assertThat(c.path("app_version").asText()).isEqualTo("3.2.1");
        assertThat(c.path("process_status").asText()).isEqualTo("running");
        assertThat(c.path("boot_id").asText()).isEqualTo("boot-rest");
        assertThat(c.path("liveness_state").asText()).isEqualTo("online");
        assertThat(c.path("connection_state").asText()).isEqualTo("online");
        assertThat(c.path("mqtt_reconnect_count").asInt()).isEqualTo(5);
        assertThat(c.path("mqtt_last_disconnect_at").asText()).isEqualTo("2026-11-29T11:00:00Z");
        assertThat(c.path("last_device_ts").asText()).isEqualTo("2026-11-29T12:00:00Z");
        assertThat(c.path("last_alive_at").asText()).endsWith("Z");
        assertThat(Instant.parse(c.path("last_alive_at").asText())).isBefore(Instant.now().plusSeconds(1));
        assertThat(Instant.parse(c.path("first_seen_at").asText())).isBeforeOrEqualTo(Instant.parse(c.path("last_alive_at").asText()));
        assertThat(c.has("service_failed_at")).isTrue();
        assertThat(c.path("service_failed_at").isNull()).isTrue();
        assertThat(c.path("service_failed_unit").isNull()).isTrue();
        assertThat(c.path("health").isObject()).as("health is embedded JSON, not a string").isTrue();
        assertThat(c.at("/health/system/disk_free_mb").asInt()).isEqualTo(512);
        assertSnakeCase(c);

        JsonNode upper = json(http("GET", "/api/clients/" + uuid.toString().toUpperCase(Locale.ROOT)).body());
        assertThat(upper.path("uuid").asText()).isEqualTo(uuid.toString());
    }

    @Test
    void getClientWithMalformedUuidIs400() {
        assertError(http("GET", "/api/clients/not-a-uuid"), 400, "invalid_uuid");
        assertError(http("GET", "/api/clients/12345678-1234-1234-1234-12345678901"), 400, "invalid_uuid");
    }

    @Test
    void getUnknownClientIs404() {
        UUID unknown = UUID.randomUUID();
        HttpResponse<String> r = http("GET", "/api/clients/" + unknown);
        assertError(r, 404, "client_not_found");
        assertThat(json(r.body()).path("message").asText()).contains(unknown.toString());
    }

    // ---- GET /api/clients/crashed --------------------------------------------------------

    @Test
    void crashedListShowsCrashedAndStaleClientsWithDowntimeLongestFirst() {
        UUID crashed = UUID.randomUUID();
        publish(crashed, "health", "{\"hostname\":\"rest-crashed\",\"process_status\":\"crashed\"}");
        UUID stale = insertClient("rest-stale-long", "stale", "now() - interval '1 hour'", null);
        update("UPDATE clients SET down_since = now() - interval '100 seconds' WHERE uuid = ?", stale);
        UUID online = UUID.randomUUID();
        publish(online, "health", "{\"hostname\":\"rest-fine\",\"process_status\":\"running\"}");
        await().atMost(WAIT).until(() -> "crashed".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", crashed)));
        await().atMost(WAIT).until(() -> scalar("SELECT count(*) FROM clients WHERE uuid = ?", online).equals(1L));

        HttpResponse<String> r = http("GET", "/api/clients/crashed");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r.body());
        List<String> listed = uuids(body);
        assertThat(listed).contains(crashed.toString(), stale.toString()).doesNotContain(online.toString());
        assertThat(listed.indexOf(stale.toString())).as("longest outage first").isLessThan(listed.indexOf(crashed.toString()));
        body.path("clients").forEach(c -> assertThat(c.path("liveness_state").asText()).isIn("crashed", "stale"));

        JsonNode staleEntry = find(body, stale);
        assertThat(staleEntry.path("downtime_s").isIntegralNumber()).isTrue();
        assertThat(staleEntry.path("downtime_s").asLong()).isBetween(100L, 110L);
        JsonNode crashedEntry = find(body, crashed);
        assertThat(crashedEntry.path("process_status").asText()).isEqualTo("crashed");
        assertThat(crashedEntry.path("downtime_s").asLong()).isBetween(0L, 10L);
    }

    // ---- service_failed ------------------------------------------------------------------

    @Test
    void serviceFailedListShowsClientsWithAnOpenAlert() {
        UUID failed = serviceFailedClient("rest-sf-list", "player.service");
        UUID fine = UUID.randomUUID();
        publish(fine, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> scalar("SELECT count(*) FROM clients WHERE uuid = ?", fine).equals(1L));

        HttpResponse<String> r = http("GET", "/api/clients/service_failed");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(uuids(body)).contains(failed.toString()).doesNotContain(fine.toString());
        JsonNode entry = find(body, failed);
        assertThat(entry.path("service_failed_unit").asText()).isEqualTo("player.service");
        assertThat(Instant.parse(entry.path("service_failed_at").asText())).isBefore(Instant.now().plusSeconds(1));
        assertThat(entry.path("hostname").asText()).isEqualTo("rest-sf-list");
    }

    @Test
    void clearServiceFailedClearsBothFieldsAndWritesOneEvent() {
        UUID uuid = serviceFailedClient("rest-sf-clear", "kiosk.service");

        HttpResponse<String> r = http("POST", "/api/clients/" + uuid + "/clear_service_failed");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = json(r.body());
        assertThat(body.path("uuid").asText()).isEqualTo(uuid.toString());
        assertThat(body.path("service_failed_at").isNull()).isTrue();
        assertThat(body.path("service_failed_unit").isNull()).isTrue();

        Map<String, Object> row = query("SELECT service_failed_at, service_failed_unit FROM clients WHERE uuid = ?", uuid).get(0);
        assertThat(row.get("service_failed_at")).isNull();
        assertThat(row.get("service_failed_unit")).isNull();
        assertThat(events(uuid, "service_failed_cleared")).isEqualTo(1);
        assertThat(scalar("SELECT detail->>'service_failed_unit' FROM client_events WHERE client_uuid = ? AND type = 'service_failed_cleared'", uuid))
                .isEqualTo("kiosk.service");
        assertThat(uuids(getJson("/api/clients/service_failed"))).doesNotContain(uuid.toString());
    }

    @Test
    void clearServiceFailedTwiceIsIdempotent() {
        UUID uuid = serviceFailedClient("rest-sf-twice", "player.service");
        HttpResponse<String> first = http("POST", "/api/clients/" + uuid + "/clear_service_failed");
        HttpResponse<String> second = http("POST", "/api/clients/" + uuid + "/clear_service_failed");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
        assertThat(json(second.body()).path("service_failed_at").isNull()).isTrue();
        assertThat(events(uuid, "service_failed_cleared")).isEqualTo(1);
    }

    @Test
    void clearServiceFailedOnAClientWithoutAlertIs200AndWritesNoEvent() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> scalar("SELECT count(*) FROM clients WHERE uuid = ?", uuid).equals(1L));
        HttpResponse<String> r = http("POST", "/api/clients/" + uuid + "/clear_service_failed");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(events(uuid, "service_failed_cleared")).isZero();
    }

    @Test
    void duplicateServiceFailedAfterClearingDoesNotRaiseTheAlertAgain() {
        UUID uuid = serviceFailedClient("rest-sf-dup", "player.service");
        assertThat(http("POST", "/api/clients/" + uuid + "/clear_service_failed").statusCode()).isEqualTo(200);

        // the broker redelivers the same failure (QoS 1): the cleared alert must stay cleared
        publish(uuid, "service_failed", "{\"unit\":\"player.service\",\"event_id\":\"ev-rest-sf-dup\"}");
        publish(uuid, "health", "{\"hostname\":\"after-duplicate\"}");
        await().atMost(WAIT).until(() -> "after-duplicate".equals(scalar("SELECT hostname FROM clients WHERE uuid = ?", uuid)));
        assertThat(scalar("SELECT service_failed_at FROM clients WHERE uuid = ?", uuid)).isNull();
        assertThat(events(uuid, "service_failed")).isEqualTo(1);
    }

    @Test
    void clearServiceFailedForUnknownClientIs404() {
        assertError(http("POST", "/api/clients/" + UUID.randomUUID() + "/clear_service_failed"), 404, "client_not_found");
    }

    @Test
    void clearServiceFailedWithMalformedUuidIs400() {
        assertError(http("POST", "/api/clients/not-a-uuid/clear_service_failed"), 400, "invalid_uuid");
    }

    // ---- GET /api/monitoring/overview ----------------------------------------------------

    @Test
    void overviewCountsEveryStateAndShowsPerClientFields() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", """
                {"hostname":"rest-overview","process_status":"running","app_version":"9.9",
                 "broker_connection":{"reconnect_count":4,"last_disconnect_at":"2026-11-29T10:00:00Z"}}""");
        publish(uuid, "service_failed", "{\"unit\":\"overview.service\",\"event_id\":\"ov-1\"}");
        insertClient("rest-overview-stale", "stale", "now() - interval '1 hour'", null);
        await().atMost(WAIT).until(() -> "overview.service".equals(scalar("SELECT service_failed_unit FROM clients WHERE uuid = ?", uuid)));

        await().atMost(WAIT).untilAsserted(() -> {
            HttpResponse<String> r = http("GET", "/api/monitoring/overview");
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode body = json(r.body());
            JsonNode counts = body.path("counts");
            assertThat(iterable(counts.fieldNames())).contains("total", "online", "crashed", "stale", "offline");
            Map<String, Long> db = new HashMap<>();
            query("SELECT liveness_state, count(*) AS n FROM clients GROUP BY liveness_state")
                    .forEach(row -> db.put((String) row.get("liveness_state"), (Long) row.get("n")));
            for (String state : List.of("online", "crashed", "stale", "offline")) {
                assertThat(counts.path(state).isIntegralNumber()).as("counts.%s present as a number", state).isTrue();
                assertThat(counts.path(state).asLong()).as("counts.%s", state).isEqualTo(db.getOrDefault(state, 0L));
            }
            assertThat(counts.path("offline").asLong()).as("a state with no client is reported as 0").isZero();
            assertThat(counts.path("total").asLong()).isEqualTo(body.path("clients").size())
                    .isEqualTo(scalar("SELECT count(*) FROM clients"))
                    .isEqualTo(counts.path("online").asLong() + counts.path("crashed").asLong()
                            + counts.path("stale").asLong() + counts.path("offline").asLong());
            assertThat(Instant.parse(body.path("generated_at").asText())).isBefore(Instant.now().plusSeconds(1));

            JsonNode c = find(body, uuid);
            assertThat(c).isNotNull();
            assertThat(c.path("mqtt_reconnect_count").asInt()).isEqualTo(4);
            assertThat(c.path("mqtt_last_disconnect_at").asText()).isEqualTo("2026-11-29T10:00:00Z");
            assertThat(c.path("liveness_state").asText()).isEqualTo("online");
            assertThat(c.path("last_alive_at").asText()).isNotBlank().endsWith("Z");
            assertThat(c.path("process_status").asText()).isEqualTo("running");
            assertThat(c.path("service_failed_unit").asText()).isEqualTo("overview.service");
            assertThat(c.path("service_failed_at").asText()).isNotBlank().endsWith("Z");
            assertThat(c.path("hostname").asText()).isEqualTo("rest-overview");
        });
    }

    // ---- GET /api/clients/{uuid}/events --------------------------------------------------

    @Test
    void eventsAreNewestFirstAndPageWithLimitAndBeforeId() {
        UUID uuid = insertClient("rest-events", "online", "now()", null);
        UUID other = insertClient("rest-events-other", "online", "now()", null);
        List<Long> ids = new ArrayList<>();
        for (int i = 1; i <= 7; i++) {
            ids.add((Long) scalar("INSERT INTO client_events (client_uuid, type, detail) VALUES (?, ?, CAST(? AS jsonb)) RETURNING id",
                    uuid, "test_event_" + i, "{\"n\":" + i + "}"));
            update("INSERT INTO client_events (client_uuid, type) VALUES (?, 'other_client_event')", other);
        }
        List<Long> newestFirst = new ArrayList<>(ids);
        java.util.Collections.reverse(newestFirst);

        JsonNode all = getJson("/api/clients/" + uuid + "/events");
        assertThat(idsOf(all)).isEqualTo(newestFirst);
        assertThat(all.path("next_before_id").isNull()).as("everything fits on the first page").isTrue();
        JsonNode newest = all.path("events").get(0);
        assertThat(newest.path("type").asText()).isEqualTo("test_event_7");
        assertThat(newest.at("/detail/n").asInt()).isEqualTo(7);
        assertThat(newest.path("occurred_at").asText()).endsWith("Z");

        JsonNode page1 = getJson("/api/clients/" + uuid + "/events?limit=3");
        assertThat(idsOf(page1)).isEqualTo(newestFirst.subList(0, 3));
        assertThat(page1.path("next_before_id").asLong()).isEqualTo(newestFirst.get(2));

        JsonNode page2 = getJson("/api/clients/" + uuid + "/events?limit=3&before_id=" + page1.path("next_before_id").asLong());
        assertThat(idsOf(page2)).isEqualTo(newestFirst.subList(3, 6));
        assertThat(page2.path("next_before_id").asLong()).isEqualTo(newestFirst.get(5));

        JsonNode page3 = getJson("/api/clients/" + uuid + "/events?limit=3&before_id=" + page2.path("next_before_id").asLong());
        assertThat(idsOf(page3)).isEqualTo(newestFirst.subList(6, 7));
        assertThat(page3.path("next_before_id").isNull()).as("last page").isTrue();

        JsonNode limits = getJson("/api/clients/" + uuid + "/events?limit=1&before_id=" + (newestFirst.get(0) + 1000));
        assertThat(idsOf(limits)).containsExactly(newestFirst.get(0));
        assertThat(getJson("/api/clients/" + uuid + "/events?limit=500").path("events").size()).isEqualTo(7);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "501", "abc", "1.5"})
    void eventsWithAnInvalidLimitIs400(String limit) {
        UUID uuid = insertClient("rest-events-limit", "online", "now()", null);
        assertError(http("GET", "/api/clients/" + uuid + "/events?limit=" + limit), 400, "invalid_limit");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-5", "abc"})
    void eventsWithAnInvalidBeforeIdIs400(String beforeId) {
        UUID uuid = insertClient("rest-events-before", "online", "now()", null);
        assertError(http("GET", "/api/clients/" + uuid + "/events?before_id=" + beforeId), 400, "invalid_before_id");
    }

    @Test
    void eventsOfAnUnknownClientIs404AndOfAMalformedUuidIs400() {
        assertError(http("GET", "/api/clients/" + UUID.randomUUID() + "/events"), 404, "client_not_found");
        assertError(http("GET", "/api/clients/nope/events"), 400, "invalid_uuid");
    }

    // ---- OpenAPI -------------------------------------------------------------------------

    @Test
    void openApiDocumentListsEveryEndpoint() {
        HttpResponse<String> r = http("GET", "/api/openapi.json");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode doc = json(r.body());
        assertThat(doc.path("openapi").asText()).startsWith("3.");
        assertThat(doc.at("/info/title").asText()).isEqualTo("infoscreen-fleet API");
        JsonNode paths = doc.path("paths");
        Map<String, String> expected = Map.of(
                "/api/clients", "get",
                "/api/clients/{uuid}", "get",
                "/api/clients/crashed", "get",
                "/api/clients/service_failed", "get",
                "/api/clients/{uuid}/clear_service_failed", "post",
                "/api/clients/{uuid}/events", "get",
                "/api/monitoring/overview", "get");
        assertThat(iterable(paths.fieldNames())).containsAll(expected.keySet());
        expected.forEach((path, verb) ->
                assertThat(paths.path(path).has(verb)).as("%s %s", verb.toUpperCase(Locale.ROOT), path).isTrue());
        assertThat(paths.at("/~1api~1clients~1{uuid}~1events/get/operationId").asText()).isEqualTo("listClientEvents");
    }

    // ---- response headers ----------------------------------------------------------------

    @Test
    void responsesDoNotEchoRequestHeadersOrQueryParameters() {
        // clear_service_failed with a known client is left out here: its own tests cover it, and
        // this test should not fail for the reasons those fail

        UUID known = UUID.randomUUID();
        publish(known, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> scalar("SELECT count(*) FROM clients WHERE uuid = ?", known).equals(1L));

        List<String[]> requests = List.of(
                new String[] {"GET", "/api/clients?liveness_state=online&probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients?liveness_state=bogus&probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/" + known + "?probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/" + UUID.randomUUID() + "?probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/not-a-uuid?probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/crashed?probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/service_failed?probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/" + known + "/events?limit=2&probe_param=probe-value-1"},
                new String[] {"GET", "/api/clients/" + known + "/events?limit=0&probe_param=probe-value-1"},
                new String[] {"GET", "/api/monitoring/overview?probe_param=probe-value-1"},
                new String[] {"GET", "/api/openapi.json?probe_param=probe-value-1"},
                new String[] {"POST", "/api/clients/not-a-uuid/clear_service_failed?probe_param=probe-value-1"},
                new String[] {"POST", "/api/clients/" + UUID.randomUUID() + "/clear_service_failed?probe_param=probe-value-1"});
        for (String[] req : requests) {
            HttpResponse<String> r = send(req[0], req[1], Map.of(
                    "X-Probe-Header", "probe-value-2",
                    "Authorization", "Bearer " + token(org.infoscreen.fleet.security.Role.ADMIN),
                    "Cookie", "session=probe-value-4"));
            Map<String, List<String>> headers = r.headers().map();
            String label = req[0] + " " + req[1] + " -> " + r.statusCode() + " " + headers;
            assertThat(headers.keySet()).as(label)
                    .noneMatch(h -> h.equalsIgnoreCase("probe_param") || h.equalsIgnoreCase("x-probe-header")
                            || h.equalsIgnoreCase("authorization") || h.equalsIgnoreCase("cookie")
                            || h.equalsIgnoreCase("set-cookie") || h.equalsIgnoreCase("liveness_state")
                            || h.equalsIgnoreCase("limit") || h.equalsIgnoreCase("uuid")
                            || h.toLowerCase(Locale.ROOT).startsWith("camel") || h.toLowerCase(Locale.ROOT).startsWith("fleet"));
            assertThat(headers.values().stream().flatMap(List::stream)).as(label)
                    .noneMatch(v -> v.contains("probe-value") || v.contains(token(org.infoscreen.fleet.security.Role.ADMIN)));
        }
    }

    // ---- helpers -------------------------------------------------------------------------

    /** Inserts a client row directly (as another instance or an import would). */
    private UUID insertClient(String hostname, String livenessState, String lastAliveSql, String processStatus) {
        UUID uuid = UUID.randomUUID();
        update("INSERT INTO clients (uuid, hostname, last_alive_at, process_status, liveness_state, down_since) VALUES (?, ?, "
                + lastAliveSql + ", ?, ?, CASE WHEN ? = 'online' THEN NULL ELSE now() END)",
                uuid, hostname, processStatus, livenessState, livenessState);
        return uuid;
    }

    /** A client (registered over MQTT) with an open service-failed alert for {@code unit}. */
    private UUID serviceFailedClient(String hostname, String unit) {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"hostname\":\"" + hostname + "\",\"process_status\":\"running\"}");
        publish(uuid, "service_failed", "{\"unit\":\"" + unit + "\",\"result\":\"exit-code\",\"event_id\":\"ev-" + hostname + "\"}");
        await().atMost(WAIT).until(() -> unit.equals(scalar("SELECT service_failed_unit FROM clients WHERE uuid = ?", uuid)));
        return uuid;
    }

    private static void assertSnakeCase(JsonNode object) {
        assertThat(iterable(object.fieldNames())).allMatch(f -> f.matches("[a-z0-9_]+"), "snake_case");
    }

    private static List<String> uuids(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.path("clients").forEach(c -> out.add(c.path("uuid").asText()));
        return out;
    }

    private static JsonNode find(JsonNode list, UUID uuid) {
        for (JsonNode c : list.path("clients")) {
            if (uuid.toString().equals(c.path("uuid").asText())) {
                return c;
            }
        }
        return null;
    }

    private static List<Long> idsOf(JsonNode page) {
        List<Long> out = new ArrayList<>();
        page.path("events").forEach(e -> out.add(e.path("id").asLong()));
        return out;
    }

    private HttpResponse<String> send(String method, String path, Map<String, String> headers) {
        return request(method, path, null, null, headers);
    }
}
