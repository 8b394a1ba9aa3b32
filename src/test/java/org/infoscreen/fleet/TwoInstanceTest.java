package org.infoscreen.fleet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Scale-out (issue #8, docs/scaling.md): two service instances ({@link ServiceProcess}, each its
 * own JVM, as two machines would run them) on one database schema and one broker, with the settings
 * of docker-compose.yml: {@code FLEET_INSTANCE_ID} per instance, {@code MQTT_SHARED_GROUP=infoscreen-fleet}. The MQTT 5 shared subscription splits
 * the device messages between them and each is stored once; the clustered Quartz scheduler runs
 * each sweep once per cycle across both, so a crashed display gets one recovery command; when one
 * instance is killed the other keeps sweeping and ingesting, and what the broker kept for the
 * killed one's session is stored once when it is back.
 */
@Slow
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TwoInstanceTest {

    private static final long SWEEP_INTERVAL_MS = 500;
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String schema = "t_twoinstance_" + run;
    private final String prefix = "fleettest-twoinstance-" + run;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<PersistentDevice> displays = new ArrayList<>();
    private ServiceProcess a;
    private ServiceProcess b;

    @BeforeAll
    void startTwoInstances() {
        // both at once, as a deployment starts them: Flyway's lock serialises the migrations
        a = ServiceProcess.start(environment("a"));
        b = ServiceProcess.start(environment("b"));
        a.awaitHealthy(Duration.ofSeconds(180));
        b.awaitHealthy(Duration.ofSeconds(180));
        for (int i = 0; i < 4; i++) {
            displays.add(new PersistentDevice(TestServices.mqttUrl(), prefix, UUID.randomUUID(), null));
        }
    }

    private Map<String, String> environment(String instance) {
        Map<String, String> env = new HashMap<>();
        env.put("DATABASE_URL", TestServices.databaseUrl());
        env.put("DATABASE_SCHEMA", schema);
        env.put("DATABASE_POOL_SIZE", "4");
        env.put("MQTT_URL", TestServices.mqttUrl());
        env.put("MQTT_TOPIC_PREFIX", prefix);
        env.put("MQTT_SESSION_EXPIRY_S", "600");
        // MQTT_CLIENT_ID stays unset: infoscreen-fleet-<instance id>; the group as docker-compose.yml sets it
        env.put("FLEET_INSTANCE_ID", "twoinstance-" + run + "-" + instance);
        env.put("MQTT_SHARED_GROUP", "infoscreen-fleet");
        env.put("SWEEP_INTERVAL_MS", String.valueOf(SWEEP_INTERVAL_MS));
        env.put("COMMAND_SWEEP_INTERVAL_MS", String.valueOf(SWEEP_INTERVAL_MS));
        env.put("RECOVERY_SWEEP_INTERVAL_MS", String.valueOf(SWEEP_INTERVAL_MS));
        env.put("CRASH_RECOVERY_ENABLED", "true");
        // one recovery step per display in this test: no second step, no lockout expiry
        env.put("RECOVERY_BACKOFF_S", "3600");
        env.put("HEARTBEAT_STALE_AFTER", "600");
        env.put("QUARTZ_CHECKIN_INTERVAL_MS", "1000");
        env.put("COMMAND_RATE_LIMIT_PER_CLIENT", "0");
        return env;
    }

    @AfterAll
    void stopInstances() throws SQLException {
        displays.forEach(PersistentDevice::close);
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Test
    @Order(1)
    void everyMessageIsStoredOnceAndTheInstancesSplitThem() {
        // each instance is ready: its own self-probe reaches it although the ingest subscription is shared
        await().atMost(WAIT).until(() -> a.status("/observe/health/ready") == 200 && b.status("/observe/health/ready") == 200);
        Set<String> eventIds = new HashSet<>();
        for (int n = 0; n < 25; n++) {
            for (PersistentDevice d : displays) {
                String eventId = "two-" + d.uuid() + "-" + n;
                d.publish("service_failed", "{\"unit\":\"player.service\",\"result\":\"exit-code\",\"event_id\":\"" + eventId + "\"}");
                d.publish("heartbeat", "{\"n\":" + n + "}");
                eventIds.add(eventId);
            }
        }
        displays.forEach(d -> d.awaitDelivered(WAIT));
        int published = 2 * eventIds.size();

        await().atMost(WAIT).untilAsserted(() ->
                assertThat(count("SELECT count(*) FROM client_events WHERE type = 'service_failed'")).isEqualTo(eventIds.size()));
        assertThat(new HashSet<>(strings("SELECT dedup_key FROM client_events WHERE type = 'service_failed'"))).isEqualTo(eventIds);
        assertThat(count("SELECT count(*) FROM clients")).isEqualTo(displays.size());
        // each message was processed by exactly one instance, and each instance got a share
        await().atMost(WAIT).untilAsserted(() -> assertThat(ingested(a) + ingested(b)).isEqualTo(published));
        assertThat(ingested(a)).as("instance a's share").isPositive();
        assertThat(ingested(b)).as("instance b's share").isPositive();
    }

    @Test
    @Order(2)
    void eachSweepRunsOncePerCycleAcrossBothAndACrashedDisplayGetsOneRecoveryCommand() {
        PersistentDevice crashed = displays.get(0);
        crashed.publish("health", "{\"process_status\":\"crashed\",\"hostname\":\"two-crashed\"}");
        await().atMost(WAIT).until(() -> recoveryCommands(crashed.uuid()) == 1);

        // the liveness sweep count of both instances together grows with one trigger's schedule, not two
        Instant from = Instant.now();
        double before = sweeps(a, "liveness") + sweeps(b, "liveness");
        await().atMost(WAIT).until(() -> sweeps(a, "liveness") + sweeps(b, "liveness") >= before + 16);
        double runs = sweeps(a, "liveness") + sweeps(b, "liveness") - before;
        long elapsedMs = Duration.between(from, Instant.now()).toMillis();
        assertThat(runs).as("liveness sweeps in %d ms at one per %d ms", elapsedMs, SWEEP_INTERVAL_MS)
                .isLessThanOrEqualTo(1.25 * elapsedMs / SWEEP_INTERVAL_MS + 2);

        // dozens of recovery sweeps later: still one command, one crash event, one attempt
        assertThat(recoveryCommands(crashed.uuid())).isEqualTo(1);
        assertThat(events(crashed.uuid(), "crash_detected")).isEqualTo(1);
        assertThat(events(crashed.uuid(), "recovery_attempt")).isEqualTo(1);
        await().atMost(WAIT).until(() -> crashed.receivedCommandIds().size() == 1);
        assertThat(crashed.receivedCommandIds()).hasSize(1);
    }

    /**
     * One display's snapshots in quick succession reach both instances (shared subscriptions have no
     * stickiness): the one received a moment later by the other instance must not overwrite a newer
     * one. Failed with the receive-time guard of the row-by-row ingest (measured: v29 stored after
     * v30); passes with the batched ingest's snapshot-order guard (migration V10).
     */
    @Test
    @Order(3)
    void healthSnapshotsSplitAcrossInstancesNeverRollAClientBack() {
        PersistentDevice d = displays.get(1);
        Instant t0 = Instant.now();
        int snapshots = 30;
        for (int n = 1; n <= snapshots; n++) {
            d.publish("health", "{\"process_status\":\"running\",\"app_version\":\"v" + n + "\",\"ts\":\""
                    + t0.plusMillis(n) + "\"}");
        }
        d.awaitDelivered(WAIT);
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(scalar("SELECT app_version FROM clients WHERE uuid = ?", d.uuid())).isEqualTo("v" + snapshots));
        // and stays the newest while both instances have finished their share
        double total = ingested(a) + ingested(b);
        await().during(Duration.ofSeconds(2)).atMost(WAIT).untilAsserted(() -> {
            assertThat(ingested(a) + ingested(b)).isEqualTo(total);
            assertThat(scalar("SELECT app_version FROM clients WHERE uuid = ?", d.uuid())).isEqualTo("v" + snapshots);
        });
    }

    @Test
    @Order(4)
    void killingOneInstanceLeavesTheOtherDoingAllTheWork() {
        assertThat(a.kill()).isEqualTo(137);

        // sweeps: b takes a's triggers over; a display crashing now gets its recovery command from b.
        // It reports the crash with every health snapshot: Mosquitto queues part of them for a's
        // offline session, the others reach b
        PersistentDevice crashed = displays.get(2);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() -> {
            crashed.publish("health", "{\"process_status\":\"crashed\",\"hostname\":\"two-crashed-later\"}");
            return "crashed".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", crashed.uuid()));
        });
        await().atMost(WAIT).until(() -> recoveryCommands(crashed.uuid()) == 1);
        double liveness = sweeps(b, "liveness");
        await().atMost(WAIT).until(() -> sweeps(b, "liveness") >= liveness + 10);
        assertThat(b.status("/observe/health/ready")).isEqualTo(200);

        // ingest: b stores its share of what the displays publish while a is dead
        double ingestedByB = ingested(b);
        long storedBefore = count("SELECT count(*) FROM client_events WHERE type = 'service_failed'");
        Set<String> eventIds = new HashSet<>();
        for (int n = 0; n < 10; n++) {
            for (PersistentDevice d : displays) {
                String eventId = "two-after-kill-" + d.uuid() + "-" + n;
                d.publish("service_failed", "{\"unit\":\"player.service\",\"event_id\":\"" + eventId + "\"}");
                eventIds.add(eventId);
            }
        }
        displays.forEach(d -> d.awaitDelivered(WAIT));
        await().atMost(WAIT).until(() -> ingested(b) > ingestedByB);

        // a's persistent session kept whatever the broker assigned to it (Mosquitto queues a share for
        // an offline member); back with the same instance id it stores that, and nothing twice
        a = ServiceProcess.start(environment("a")).awaitHealthy(Duration.ofSeconds(180));
        await().atMost(WAIT).untilAsserted(() -> assertThat(count("SELECT count(*) FROM client_events WHERE type = 'service_failed'"))
                .isEqualTo(storedBefore + eventIds.size()));
        assertThat(strings("SELECT dedup_key FROM client_events WHERE type = 'service_failed' GROUP BY dedup_key HAVING count(*) > 1"))
                .as("stored twice").isEmpty();
        await().atMost(WAIT).until(() -> a.status("/observe/health/ready") == 200);
        assertThat(recoveryCommands(crashed.uuid())).isEqualTo(1);
    }

    // ---- helpers ----------------------------------------------------------------------------

    private long recoveryCommands(UUID client) {
        return count("SELECT count(*) FROM client_commands WHERE client_uuid = ? AND origin = 'crash_recovery'", client);
    }

    private long events(UUID client, String type) {
        return count("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type = ?", client, type);
    }

    /** @return messages the instance stored since it started (every kind), from its /observe/metrics */
    private double ingested(ServiceProcess s) {
        return metricSum(s, "fleet_messages_ingested_total", null);
    }

    /** @return how often the instance ran the sweep since it started */
    private double sweeps(ServiceProcess s, String sweep) {
        return metricSum(s, "fleet_sweep_duration_seconds_count", "sweep=\"" + sweep + "\"");
    }

    private double metricSum(ServiceProcess s, String name, String label) {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create(s.baseUrl() + "/observe/metrics"))
                    .timeout(Duration.ofSeconds(5))
                    .header("Authorization", "Bearer " + s.adminToken())
                    .GET().build();
            HttpResponse<String> response = http.send(r, HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            double sum = 0;
            for (String line : response.body().split("\n")) {
                if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && (label == null || line.contains(label))) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return sum;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private long count(String sql, Object... args) {
        return ((Number) scalar(sql, args)).longValue();
    }

    private Object scalar(String sql, Object... args) {
        List<Object> values = column(sql, args);
        return values.isEmpty() ? null : values.get(0);
    }

    private List<String> strings(String sql, Object... args) {
        return column(sql, args).stream().map(String::valueOf).toList();
    }

    private List<Object> column(String sql, Object... args) {
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null)) {
            try (Statement s = c.createStatement()) {
                s.execute("SET search_path TO " + schema);
            }
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int i = 0; i < args.length; i++) {
                    ps.setObject(i + 1, args[i]);
                }
                List<Object> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getObject(1));
                    }
                }
                return out;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
