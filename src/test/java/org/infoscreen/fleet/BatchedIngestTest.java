package org.infoscreen.fleet;

import org.apache.camel.ServiceStatus;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.infoscreen.fleet.health.MqttIngestMonitor;
import org.infoscreen.fleet.mqtt.SessionSafeMqttConsumer;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The batched ingest (issue #8): heartbeat and health are snapshots, coalesced per client and
 * written in batches, and an older snapshot never replaces a newer one; service_failed, status and
 * acks are events, each stored (never coalesced) before its acknowledgement; a database that fails
 * keeps messages unacknowledged without restarting the consumer; the consumer's start never waits
 * for a resumed session's backlog. Against the machine's PostgreSQL and Mosquitto.
 */
class BatchedIngestTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void aBurstOfSnapshotsOfOneClientEndsInTheNewestState() {
        UUID uuid = UUID.randomUUID();
        double before = ingested("heartbeat") + ingested("health");
        for (int i = 1; i <= 40; i++) {
            publish(uuid, "health", "{\"ts\":\"2026-11-29T12:00:" + String.format("%02d", i) + "Z\",\"hostname\":\"burst-" + i
                    + "\",\"app_version\":\"1." + i + "\",\"process_status\":\"running\",\"boot_id\":\"boot-1\","
                    + "\"broker_connection\":{\"reconnect_count\":" + i + "}}");
            publish(uuid, "heartbeat", "{\"boot_id\":\"boot-1\",\"process_status\":\"running\"}");
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(client(uuid)).containsEntry("hostname", "burst-40"));
        assertThat(client(uuid)).containsEntry("app_version", "1.40").containsEntry("mqtt_reconnect_count", 40)
                .containsEntry("boot_id", "boot-1").containsEntry("process_status", "running");
        assertThat(events(uuid, "client_registered")).isEqualTo(1);
        assertThat(events(uuid, "reboot_detected")).isZero();
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(ingested("heartbeat") + ingested("health") - before).as("every message counted, coalesced or not").isEqualTo(80));
    }

    @Test
    void anOlderSnapshotArrivingAfterANewerOneLeavesTheNewer() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"ts\":\"2026-11-29T12:00:30Z\",\"hostname\":\"newer\",\"process_status\":\"running\",\"boot_id\":\"boot-1\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("hostname", "newer"));
        Object aliveBefore = client(uuid).get("last_alive_at");

        // a QoS 1 redelivery (or another instance) brings the snapshot from 30 s earlier
        publish(uuid, "health", "{\"ts\":\"2026-11-29T12:00:00Z\",\"hostname\":\"older\",\"process_status\":\"crashed\",\"boot_id\":\"boot-1\"}");
        awaitMarker();

        assertThat(client(uuid)).containsEntry("hostname", "newer").containsEntry("process_status", "running");
        assertThat(IngestTest.instant(client(uuid).get("last_alive_at"))).as("still a device message: liveness counts")
                .isAfter(IngestTest.instant(aliveBefore));
    }

    @Test
    void aRedeliveredSnapshotOfThePreviousBootIsNoReboot() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"hostname\":\"boot-a\",\"boot_id\":\"boot-a\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("boot_id", "boot-a"));
        publish(uuid, "health", "{\"hostname\":\"boot-b\",\"boot_id\":\"boot-b\"}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(clientOrEmpty(uuid)).containsEntry("boot_id", "boot-b"));

        // the redelivered tail reaches back across the reboot: boot-a's snapshot again, then boot-b's
        publish(uuid, "health", "{\"hostname\":\"boot-a\",\"boot_id\":\"boot-a\"}");
        publish(uuid, "heartbeat", "{\"boot_id\":\"boot-a\"}");
        publish(uuid, "health", "{\"hostname\":\"boot-b\",\"boot_id\":\"boot-b\"}");
        awaitMarker();

        assertThat(events(uuid, "reboot_detected")).isEqualTo(1);
        assertThat(client(uuid)).containsEntry("boot_id", "boot-b").containsEntry("hostname", "boot-b");
    }

    @Test
    void serviceFailedAndAcksAreNeverCoalesced() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> !clientOrEmpty(uuid).isEmpty());
        List<String> commands = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            commands.add(createdId(uuid, "{\"action\":\"restart_app\",\"force\":true}"));
        }
        await().atMost(WAIT).until(() -> commands.stream().allMatch(id -> "published".equals(status(id))));
        double failuresBefore = ingested("service_failed");
        double acksBefore = ingested("commands/ack");

        for (int i = 0; i < 25; i++) {
            publish(uuid, "service_failed", "{\"unit\":\"player.service\",\"event_id\":\"burst-" + i + "\"}");
            publish(uuid, "heartbeat", "{}");
            if (i < commands.size()) {
                publish(uuid, "commands/ack", "{\"command_id\":\"" + commands.get(i) + "\",\"status\":\"accepted\"}");
            }
        }

        await().atMost(WAIT).untilAsserted(() -> assertThat(events(uuid, "service_failed")).isEqualTo(25));
        await().atMost(WAIT).untilAsserted(() -> assertThat(commands).allMatch(id -> "accepted".equals(status(id))));
        commands.forEach(id -> assertThat(commandEvents(id, "command_accepted")).isEqualTo(1));
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(ingested("service_failed") - failuresBefore).isEqualTo(25);
            assertThat(ingested("commands/ack") - acksBefore).isEqualTo(5);
        });
    }

    @Test
    void aLastWillAfterAHeartbeatEndsOfflineAlthoughTheHeartbeatWaitsForItsBatch() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        publish(uuid, "status", "{\"state\":\"offline\"}");
        awaitMarker();
        assertThat(client(uuid)).containsEntry("connection_state", "offline");
    }

    /**
     * The database refuses to store a service_failed (every attempt fails): the message is tried
     * again without restarting the consumer or its connection, never quarantined, and never
     * acknowledged: stopped and started again after the database is back, the broker delivers it
     * again and it is stored once.
     */
    @Test
    void anEventIsAcknowledgedOnlyAfterItsCommitAndADatabaseFailureRestartsNothing() throws Exception {
        UUID uuid = UUID.randomUUID();
        update("CREATE SEQUENCE IF NOT EXISTS refused_inserts");
        update("""
                CREATE OR REPLACE FUNCTION refuse_service_failed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.type = 'service_failed' THEN
                        PERFORM nextval('refused_inserts');
                        RAISE EXCEPTION 'database unavailable (test)' USING ERRCODE = '40001';
                    END IF;
                    RETURN NEW;
                END $$""");
        update("CREATE TRIGGER refuse_service_failed BEFORE INSERT ON client_events FOR EACH ROW EXECUTE FUNCTION refuse_service_failed()");
        SessionSafeMqttConsumer consumer = (SessionSafeMqttConsumer) context.getRoute("mqtt-ingest").getConsumer();
        MqttClient connection = consumer.client();
        MqttIngestMonitor monitor = context.getRegistry().lookupByNameAndType("mqttIngestMonitor", MqttIngestMonitor.class);
        long reconnects = monitor.reconnects();
        try {
            long attemptsBefore = refusedInserts();
            publish(uuid, "service_failed", "{\"unit\":\"kiosk.service\",\"event_id\":\"held-1\"}");
            await().atMost(WAIT).until(() -> refusedInserts() - attemptsBefore >= 3);

            assertThat(consumer.client()).as("the same connection, not restarted").isSameAs(connection);
            assertThat(connection.isConnected()).isTrue();
            assertThat(monitor.reconnects()).isEqualTo(reconnects);
            assertThat(context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started);
            assertThat(consumer.unacknowledged()).as("the failing message is not acknowledged").isPositive();
            assertThat(scalar("SELECT count(*) FROM rejected_messages WHERE topic LIKE ?", "%" + uuid + "%")).isEqualTo(0L);

            // away with everything in memory: only the broker still has the message, if it was never acknowledged
            context.getRouteController().stopRoute("mqtt-ingest");
        } finally {
            update("DROP TRIGGER IF EXISTS refuse_service_failed ON client_events");
            if (context.getRouteController().getRouteStatus("mqtt-ingest") != ServiceStatus.Started) {
                context.getRouteController().startRoute("mqtt-ingest");
            }
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(events(uuid, "service_failed")).isEqualTo(1));
        assertThat(scalar("SELECT count(*) FROM rejected_messages WHERE topic LIKE ?", "%" + uuid + "%")).isEqualTo(0L);
    }

    /**
     * A resumed session delivers its backlog right after connecting; the consumer's start (its
     * subscribe) must not wait until that backlog is stored, or the routes after it (REST, sweeps)
     * start late. Here the backlog cannot be stored at all while the client table is locked.
     */
    @Test
    void theConsumerStartsWithoutWaitingForTheBacklogOfItsSession() throws Exception {
        List<UUID> uuids = new ArrayList<>();
        context.getRouteController().stopRoute("mqtt-ingest");
        CompletableFuture<Void> start;
        try (Connection lock = lockConnection()) {
            for (int i = 0; i < 60; i++) {
                UUID u = UUID.randomUUID();
                uuids.add(u);
                if (i % 2 == 0) {
                    publish(u, "heartbeat", "{\"ts\":\"2026-11-29T12:00:00Z\"}");
                } else {
                    publish(u, "service_failed", "{\"unit\":\"backlog.service\",\"event_id\":\"backlog-" + i + "\"}");
                }
            }
            try (Statement s = lock.createStatement()) {
                s.execute("LOCK TABLE clients IN EXCLUSIVE MODE");
            }
            start = CompletableFuture.runAsync(() -> {
                try {
                    context.getRouteController().startRoute("mqtt-ingest");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofSeconds(10)).until(start::isDone);
            assertThat(context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started);
            assertThat(stored(uuids)).as("nothing stored while the table is locked").isZero();
            lock.rollback();
        } finally {
            if (context.getRouteController().getRouteStatus("mqtt-ingest") != ServiceStatus.Started) {
                context.getRouteController().startRoute("mqtt-ingest");
            }
        }
        start.join();
        await().atMost(WAIT).untilAsserted(() -> assertThat(stored(uuids)).isEqualTo(60L));
        assertThat(scalar("SELECT count(*) FROM client_events WHERE type = 'service_failed' AND client_uuid = ANY(?)",
                (Object) uuids.toArray(new UUID[0]))).isEqualTo(30L);
    }

    // ---- helpers -------------------------------------------------------------------------

    /** Publishes a heartbeat of a new client and waits until it is stored: everything published before is processed. */
    private void awaitMarker() {
        UUID marker = UUID.randomUUID();
        publish(marker, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> !clientOrEmpty(marker).isEmpty());
    }

    private long stored(List<UUID> uuids) {
        return ((Number) scalar("SELECT count(*) FROM clients WHERE uuid = ANY(?)", (Object) uuids.toArray(new UUID[0]))).longValue();
    }

    private long refusedInserts() {
        return ((Number) scalar("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM refused_inserts")).longValue();
    }

    private double ingested(String kind) {
        double v = metric("fleet_messages_ingested_total", "kind", kind);
        return Double.isNaN(v) ? 0 : v;
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
}
