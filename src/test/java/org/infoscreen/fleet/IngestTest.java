package org.infoscreen.fleet;

import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * MQTT → PostgreSQL, end to end for every device topic: heartbeat, health, service_failed,
 * status; registration, reboot detection, idempotence, retained replays and the persistent
 * session.
 */
class IngestTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(10);

    // ---- heartbeat -----------------------------------------------------------------------

    @Test
    void heartbeatSetsLastAliveAtToServerTimeAndKeepsDeviceTs() {
        UUID uuid = UUID.randomUUID();
        Instant before = Instant.now();
        // the device clock is years off: liveness must still use the server's receive time
        publish(uuid, "heartbeat", "{\"ts\":\"2020-01-01T00:00:00Z\"}");
        Map<String, Object> row = awaitClient(uuid);
        Instant after = Instant.now();

        assertThat(instant(row.get("last_alive_at"))).isBetween(before.minusMillis(1), after.plusMillis(1));
        assertThat(instant(row.get("last_device_ts"))).isEqualTo(Instant.parse("2020-01-01T00:00:00Z"));
        assertThat(row.get("connection_state")).isEqualTo("online");
        assertThat(row.get("health")).as("a heartbeat carries no health snapshot").isNull();
    }

    @Test
    void laterHeartbeatWithOlderDeviceTsStillAdvancesLastAliveAt() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{\"ts\":\"2026-11-29T12:00:00Z\"}");
        Instant first = instant(awaitClient(uuid).get("last_alive_at"));

        publish(uuid, "heartbeat", "{\"ts\":\"2019-06-01T00:00:00Z\"}");
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(instant(client(uuid).get("last_device_ts"))).isEqualTo(Instant.parse("2019-06-01T00:00:00Z")));
        assertThat(instant(client(uuid).get("last_alive_at"))).isAfter(first);
    }

    // ---- health --------------------------------------------------------------------------

    @Test
    void healthStoresSnapshotProcessStatusBrokerConnectionAndIdentity() {
        UUID uuid = UUID.randomUUID();
        Instant before = Instant.now();
        publish(uuid, "health", """
                {"ts":"2026-11-29T12:00:00Z","hostname":"foyer-02","ip":"10.20.30.40","app_version":"5.1.3",
                 "process_status":"running","boot_id":"boot-h1",
                 "process":{"pid":4321,"rss_mb":180},"system":{"cpu_temp_c":51.5,"disk_free_mb":2048},
                 "broker_connection":{"reconnect_count":12,"last_disconnect_at":"2026-11-29T11:58:30Z",
                                      "connected_since":"2026-11-29T11:58:31Z"},
                 "some_future_field":"ignored"}""");
        Map<String, Object> row = awaitClient(uuid);

        assertThat(row).containsEntry("hostname", "foyer-02")
                .containsEntry("ip", "10.20.30.40")
                .containsEntry("app_version", "5.1.3")
                .containsEntry("process_status", "running")
                .containsEntry("boot_id", "boot-h1")
                .containsEntry("mqtt_reconnect_count", 12)
                .containsEntry("connection_state", "online");
        assertThat(instant(row.get("mqtt_last_disconnect_at"))).isEqualTo(Instant.parse("2026-11-29T11:58:30Z"));
        assertThat(instant(row.get("last_device_ts"))).isEqualTo(Instant.parse("2026-11-29T12:00:00Z"));
        assertThat(instant(row.get("last_alive_at"))).isAfterOrEqualTo(before.minusMillis(1));
        assertThat(instant(row.get("last_health_at"))).isEqualTo(instant(row.get("last_alive_at")));

        Map<String, Object> snapshot = query("""
                SELECT jsonb_typeof(health) AS type, health #>> '{process,pid}' AS pid,
                       health #>> '{system,disk_free_mb}' AS disk, health #>> '{broker_connection,connected_since}' AS since
                FROM clients WHERE uuid = ?""", uuid).get(0);
        assertThat(snapshot).containsEntry("type", "object")
                .containsEntry("pid", "4321")
                .containsEntry("disk", "2048")
                .containsEntry("since", "2026-11-29T11:58:31Z");
    }

    @Test
    void heartbeatAfterHealthKeepsTheSnapshotAndIdentity() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", """
                {"hostname":"keep-me","ip":"10.0.0.9","app_version":"1.0","process_status":"running",
                 "broker_connection":{"reconnect_count":2}}""");
        awaitClient(uuid);
        publish(uuid, "heartbeat", "{\"ts\":\"2026-11-29T12:30:00Z\"}");
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(instant(client(uuid).get("last_device_ts"))).isEqualTo(Instant.parse("2026-11-29T12:30:00Z")));

        Map<String, Object> row = client(uuid);
        assertThat(row).containsEntry("hostname", "keep-me").containsEntry("ip", "10.0.0.9")
                .containsEntry("app_version", "1.0").containsEntry("process_status", "running")
                .containsEntry("mqtt_reconnect_count", 2);
        assertThat(row.get("health")).isNotNull();
    }

    // ---- boot_id -------------------------------------------------------------------------

    @Test
    void sameBootIdTwiceWritesNoRebootEvent() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"boot_id\":\"boot-1\",\"hostname\":\"first\"}");
        publish(uuid, "health", "{\"boot_id\":\"boot-1\",\"hostname\":\"second\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("hostname", "second"));
        assertThat(events(uuid, "reboot_detected")).isZero();
    }

    @Test
    void changedBootIdWritesExactlyOneRebootEvent() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"boot_id\":\"boot-A\",\"hostname\":\"m1\"}");
        publish(uuid, "health", "{\"boot_id\":\"boot-A\",\"hostname\":\"m2\"}");
        publish(uuid, "health", "{\"boot_id\":\"boot-B\",\"hostname\":\"m3\"}");
        publish(uuid, "health", "{\"boot_id\":\"boot-B\",\"hostname\":\"m4\"}");
        publish(uuid, "heartbeat", "{}"); // no boot_id: not a reboot
        publish(uuid, "health", "{\"hostname\":\"m5\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("hostname", "m5"));

        assertThat(events(uuid, "reboot_detected")).isEqualTo(1);
        assertThat(client(uuid)).containsEntry("boot_id", "boot-B");
        Map<String, Object> detail = query("""
                SELECT detail->>'previous_boot_id' AS prev, detail->>'boot_id' AS boot
                FROM client_events WHERE client_uuid = ? AND type = 'reboot_detected'""", uuid).get(0);
        assertThat(detail).containsEntry("prev", "boot-A").containsEntry("boot", "boot-B");
    }

    // ---- registration --------------------------------------------------------------------

    @Test
    void unknownClientIsRegisteredOnItsFirstMessageOfEveryKind() {
        Map<String, String> firstMessages = Map.of(
                "heartbeat", "{}",
                "health", "{\"process_status\":\"running\"}",
                "service_failed", "{\"unit\":\"reg.service\",\"event_id\":\"reg-1\"}",
                "status", "{\"state\":\"online\"}");
        List<UUID> uuids = new ArrayList<>();
        firstMessages.forEach((kind, payload) -> {
            UUID uuid = UUID.randomUUID();
            uuids.add(uuid);
            Instant before = Instant.now();
            publish(uuid, kind, payload);
            Map<String, Object> row = awaitClient(uuid);
            assertThat(instant(row.get("first_seen_at"))).as(kind).isAfterOrEqualTo(before.minusMillis(1));
            assertThat(events(uuid, "client_registered")).as(kind).isEqualTo(1);
        });

        // more messages of every kind: still exactly one registration each, first_seen_at unchanged
        for (UUID uuid : uuids) {
            Instant firstSeen = instant(client(uuid).get("first_seen_at"));
            publish(uuid, "heartbeat", "{}");
            publish(uuid, "status", "{\"state\":\"online\"}");
            publish(uuid, "health", "{\"hostname\":\"registered-twice\"}");
            await().atMost(WAIT).untilAsserted(() -> assertThat(client(uuid)).containsEntry("hostname", "registered-twice"));
            assertThat(events(uuid, "client_registered")).isEqualTo(1);
            assertThat(instant(client(uuid).get("first_seen_at"))).isEqualTo(firstSeen);
        }
        Object via = scalar("SELECT detail->>'via' FROM client_events WHERE client_uuid = ? AND type = 'client_registered'", uuids.get(0));
        assertThat(via).isNotNull();
    }

    // ---- service_failed ------------------------------------------------------------------

    @Test
    void serviceFailedSetsAlertFieldsAndWritesOneEvent() {
        UUID uuid = UUID.randomUUID();
        Instant before = Instant.now();
        publish(uuid, "service_failed", """
                {"ts":"2026-11-29T12:00:00Z","unit":"player.service","result":"exit-code","exit_status":1,"event_id":"sf-1"}""");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("service_failed_unit", "player.service"));

        Map<String, Object> row = client(uuid);
        assertThat(instant(row.get("service_failed_at"))).isBetween(before.minusMillis(1), Instant.now());
        assertThat(events(uuid, "service_failed")).isEqualTo(1);
        Map<String, Object> detail = query("""
                SELECT detail->>'unit' AS unit, detail->>'result' AS result, detail->>'exit_status' AS exit_status
                FROM client_events WHERE client_uuid = ? AND type = 'service_failed'""", uuid).get(0);
        assertThat(detail).containsEntry("unit", "player.service").containsEntry("result", "exit-code").containsEntry("exit_status", "1");
    }

    @Test
    void sameServiceFailedEventIdTwiceWritesOneEvent() {
        UUID uuid = UUID.randomUUID();
        String payload = "{\"unit\":\"player.service\",\"result\":\"signal\",\"event_id\":\"dup-1\"}";
        publish(uuid, "service_failed", payload);
        await().atMost(WAIT).untilAsserted(() -> assertThat(events(uuid, "service_failed")).isEqualTo(1));
        Object firstAt = client(uuid).get("service_failed_at");

        publish(uuid, "service_failed", payload); // QoS 1 duplicate
        // a later, different failure proves the duplicate has been processed (same topic, in order)
        publish(uuid, "service_failed", "{\"unit\":\"kiosk.service\",\"event_id\":\"dup-2\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(client(uuid)).containsEntry("service_failed_unit", "kiosk.service"));

        assertThat(events(uuid, "service_failed")).isEqualTo(2);
        assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND dedup_key = 'dup-1'", uuid))
                .isEqualTo(1L);
        assertThat(instant(client(uuid).get("service_failed_at"))).isAfter(instant(firstAt));
    }

    @Test
    void serviceFailedWithoutEventIdIsStillDeduplicated() {
        UUID uuid = UUID.randomUUID();
        String payload = "{\"unit\":\"no-id.service\",\"result\":\"timeout\"}";
        publish(uuid, "service_failed", payload);
        publish(uuid, "service_failed", payload);
        publish(uuid, "health", "{\"hostname\":\"marker\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("hostname", "marker"));
        assertThat(events(uuid, "service_failed")).isEqualTo(1);
    }

    // ---- status (last will) --------------------------------------------------------------

    @Test
    void statusOnlineAndOfflineUpdateConnectionState() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "status", "{\"state\":\"online\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("connection_state", "online"));
        Instant aliveAfterOnline = instant(client(uuid).get("last_alive_at"));
        Instant onlineSince = instant(client(uuid).get("connection_state_since"));
        assertThat(aliveAfterOnline).as("a live 'online' is a device message").isNotNull();

        publish(uuid, "status", "{\"state\":\"offline\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(client(uuid)).containsEntry("connection_state", "offline"));
        assertThat(instant(client(uuid).get("connection_state_since"))).isAfter(onlineSince);
        assertThat(instant(client(uuid).get("last_alive_at")))
                .as("a last will (sent by the broker) never refreshes liveness").isEqualTo(aliveAfterOnline);

        publish(uuid, "status", "{\"state\":\"online\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(client(uuid)).containsEntry("connection_state", "online"));
        assertThat(instant(client(uuid).get("last_alive_at"))).isAfter(aliveAfterOnline);
    }

    // ---- commands (server -> device) ------------------------------------------------------

    @Test
    void commandsSentToADeviceNeverRefreshItsLivenessAndAreNotQuarantined() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        Instant lastAlive = instant(awaitClient(uuid).get("last_alive_at"));
        UUID unknown = UUID.randomUUID();

        publish(uuid, "commands", "{\"command_id\":\"" + UUID.randomUUID() + "\",\"action\":\"restart_app\"}");
        publish(unknown, "commands", "{\"command_id\":\"" + UUID.randomUUID() + "\",\"action\":\"reboot_host\"}");
        UUID marker = UUID.randomUUID();
        publish(marker, "heartbeat", "{}");
        awaitClient(marker);

        assertThat(instant(client(uuid).get("last_alive_at"))).isEqualTo(lastAlive);
        assertThat(clientOrEmpty(unknown)).as("a command does not register a client").isEmpty();
        assertThat(scalar("SELECT count(*) FROM rejected_messages WHERE topic LIKE ?", "%/commands")).isEqualTo(0L);
    }

    // ---- retained replay -----------------------------------------------------------------

    @Test
    void retainedStatusAndHealthReplayedOnSubscribeNeverRefreshLastAliveAt() throws Exception {
        UUID uuid = UUID.randomUUID();
        String statusTopic = topicPrefix() + "/" + uuid + "/status";
        String healthTopic = topicPrefix() + "/" + uuid + "/health";
        try {
            publish(uuid, "heartbeat", "{}");
            awaitClient(uuid);
            // published retained while we are subscribed: delivered live once (a real device message)
            publishRaw(statusTopic, "{\"state\":\"online\"}".getBytes(StandardCharsets.UTF_8), true);
            publishRaw(healthTopic, "{\"hostname\":\"retained-snapshot\",\"process_status\":\"running\"}"
                    .getBytes(StandardCharsets.UTF_8), true);
            await().atMost(WAIT).untilAsserted(() -> assertThat(client(uuid)).containsEntry("hostname", "retained-snapshot"));
            Map<String, Object> known = client(uuid);
            Instant lastAlive = instant(known.get("last_alive_at"));
            Instant stateSince = instant(known.get("connection_state_since"));
            double statusIngested = metric("fleet_messages_ingested_total", "kind", "status");

            // re-subscribe: the broker replays both retained messages with the retain flag set
            context.getRouteController().stopRoute("mqtt-ingest");
            context.getRouteController().startRoute("mqtt-ingest");
            await().atMost(WAIT).untilAsserted(() ->
                    assertThat(metric("fleet_messages_ingested_total", "kind", "status")).isGreaterThan(statusIngested));
            UUID marker = UUID.randomUUID();
            publish(marker, "heartbeat", "{}");
            awaitClient(marker);

            Map<String, Object> after = client(uuid);
            assertThat(instant(after.get("last_alive_at"))).isEqualTo(lastAlive);
            assertThat(instant(after.get("connection_state_since"))).isEqualTo(stateSince);
            assertThat(instant(after.get("last_health_at"))).isEqualTo(lastAlive);
        } finally {
            // clear the retained messages (an empty retained payload deletes them)
            publishRaw(statusTopic, new byte[0], true);
            publishRaw(healthTopic, new byte[0], true);
        }
    }

    // ---- persistent session --------------------------------------------------------------

    /**
     * QoS 1 messages published while the ingest is down are delivered from the persistent session
     * when it comes back. (Fails intermittently, typically losing the first queued message: the
     * camel-paho-mqtt5 4.17 consumer connects before it sets its MqttCallback, so messages the
     * broker sends right after CONNACK reach no callback and stay unacknowledged.)
     */
    @Test
    void messagesPublishedWhileIngestIsStoppedAreStoredAfterRestart() throws Exception {
        List<UUID> uuids = List.of(UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID(), UUID.randomUUID());
        context.getRouteController().stopRoute("mqtt-ingest");
        try {
            for (int i = 0; i < uuids.size(); i++) {
                if (i % 2 == 0) {
                    publish(uuids.get(i), "heartbeat", "{\"ts\":\"2026-11-29T12:00:0" + i + "Z\"}");
                } else {
                    publish(uuids.get(i), "health", "{\"hostname\":\"queued-" + i + "\",\"process_status\":\"running\"}");
                }
            }
            assertThat(scalar("SELECT count(*) FROM clients WHERE uuid = ANY(?)", (Object) uuids.toArray(new UUID[0])))
                    .as("nothing can be stored while the ingest route is stopped").isEqualTo(0L);
        } finally {
            context.getRouteController().startRoute("mqtt-ingest");
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(
                scalar("SELECT count(*) FROM clients WHERE uuid = ANY(?) AND last_alive_at IS NOT NULL", (Object) uuids.toArray(new UUID[0])))
                .isEqualTo(5L));
        assertThat(client(uuids.get(1))).containsEntry("hostname", "queued-1");
        assertThat(context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started);
    }

    // ---- helpers -------------------------------------------------------------------------

    private Map<String, Object> awaitClient(UUID uuid) {
        return await().atMost(WAIT).until(() -> clientOrEmpty(uuid), row -> !row.isEmpty());
    }

    private Map<String, Object> clientOrEmpty(UUID uuid) {
        List<Map<String, Object>> rows = query("SELECT * FROM clients WHERE uuid = ?", uuid);
        return rows.isEmpty() ? Map.of() : rows.get(0);
    }

    private Map<String, Object> client(UUID uuid) {
        Map<String, Object> row = clientOrEmpty(uuid);
        assertThat(row).as("client " + uuid).isNotEmpty();
        return row;
    }

    static Instant instant(Object value) {
        if (value == null) {
            return null;
        }
        if (value instanceof Timestamp ts) {
            return ts.toInstant();
        }
        if (value instanceof OffsetDateTime odt) {
            return odt.toInstant();
        }
        throw new IllegalArgumentException("not a time: " + value.getClass());
    }

    /** @return the sum of the Prometheus samples of {@code name} whose labels contain {@code label} */
    private double metric(String name, String label) {
        double sum = 0;
        for (String line : http("GET", "/observe/metrics").body().split("\n")) {
            if (line.startsWith(name + "{") && line.contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
