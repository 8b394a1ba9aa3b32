package org.infoscreen.fleet;

import org.apache.camel.ServiceStatus;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * PostgreSQL is stopped for 60 s while displays keep publishing, then started again: nothing a
 * display published is lost (service_failed events and ack transitions are stored exactly once,
 * the newest health snapshot of each display is stored), the service recovers without a restart
 * and no route is left stopped. The database and broker are processes of this test
 * ({@link PostgresProcess}, {@link MosquittoProcess} with the project's config).
 */
@Slow
class DatabaseOutageTest extends FleetTestSupport {

    private static final Duration OUTAGE = Duration.ofSeconds(60);
    private static final int DISPLAYS = 5;
    private static final int FAILURES = 60;

    private PostgresProcess db;
    private MosquittoProcess broker;
    private final ScheduledExecutorService clock = Executors.newScheduledThreadPool(2);

    @Override
    protected synchronized String databaseUrl() {
        if (db == null) {
            db = closeAfterClass(PostgresProcess.startFresh());
        }
        return db.jdbcUrl();
    }

    @Override
    protected synchronized String mqttUrl() {
        if (broker == null) {
            broker = closeAfterClass(MosquittoProcess.startProjectConfig(topicPrefix()));
        }
        return broker.url();
    }

    @Override
    protected org.eclipse.paho.mqttv5.client.MqttConnectionOptions deviceConnectionOptions() {
        mqttUrl();
        return broker.testUserOptions();
    }

    @Override
    protected Properties extraProperties() {
        mqttUrl();
        Properties p = broker.serviceProperties(false);
        p.setProperty("fleet.commands.sweep-interval-ms", "1000");
        return p;
    }

    @AfterAll
    void stopClock() {
        clock.shutdownNow();
    }

    @Test
    void sixtySecondDatabaseOutageLosesNoServiceFailedNoAckAndNoNewestSnapshot() throws Exception {
        List<TestDisplay> displays = new ArrayList<>();
        List<String> commands = new ArrayList<>();
        for (int i = 0; i < DISPLAYS; i++) {
            TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID(), broker.testUserOptions()).silent();
            displays.add(d);
            d.health("running");
        }
        await().atMost(Duration.ofSeconds(10)).until(() ->
                ((Number) scalar("SELECT count(*) FROM clients")).intValue() == DISPLAYS);
        for (TestDisplay d : displays) {
            String id = createdId(d.uuid(), "{\"action\":\"restart_app\",\"ttl_s\":600}");
            commands.add(id);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> commands.stream().allMatch(id -> "published".equals(status(id))));

        // steady ingest from a second set of displays, before, during and after the outage
        List<UUID> beaters = java.util.stream.Stream.generate(UUID::randomUUID).limit(20).toList();
        MqttClient beat = connectDevice("beater");
        AtomicInteger beats = new AtomicInteger();
        ScheduledFuture<?> beating = clock.scheduleAtFixedRate(() -> {
            int n = beats.incrementAndGet();
            for (UUID u : beaters) {
                publish(beat, topicPrefix() + "/" + u + "/heartbeat", "{\"seq\":" + n + "}");
            }
        }, 0, 500, TimeUnit.MILLISECONDS);

        // readiness is UP before the outage
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(http("GET", "/observe/health/ready").statusCode()).isEqualTo(200));
        long uptimeBefore = context.getUptime().toMillis();

        db.stop();
        Instant outageStart = Instant.now();

        // readiness turns DOWN because of the database, liveness stays UP (no reason to restart)
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertReadiness(503, "DOWN");
            assertThat(healthCheck("fleet-database").path("status").asText()).isEqualTo("DOWN");
        });
        assertThat(http("GET", "/observe/health/live").statusCode()).isEqualTo(200);

        // during the outage: service_failed events, acks, and health snapshots with a sequence number
        List<ScheduledFuture<?>> script = new ArrayList<>();
        long step = OUTAGE.toMillis() / (FAILURES + 1);
        for (int i = 0; i < FAILURES; i++) {
            int n = i;
            TestDisplay d = displays.get(i % DISPLAYS);
            script.add(clock.schedule(() -> {
                d.publish("service_failed", "{\"unit\":\"player.service\",\"result\":\"exit-code\",\"event_id\":\"outage-" + n + "\"}");
                d.publish("health", "{\"process_status\":\"running\",\"hostname\":\"" + d.hostname() + "\",\"app_version\":\"seq-" + n + "\"}");
                if (n == 10 || n == 30 || n == 50) {
                    String ack = n == 10 ? "accepted" : n == 30 ? "executing" : "completed";
                    for (int k = 0; k < DISPLAYS; k++) {
                        displays.get(k).ack(commands.get(k), ack);
                    }
                }
            }, step * (i + 1), TimeUnit.MILLISECONDS));
        }
        await().atMost(OUTAGE.plusSeconds(20)).until(() -> script.stream().allMatch(ScheduledFuture::isDone));
        for (ScheduledFuture<?> f : script) {
            f.get(); // a publish that failed fails the test
        }

        // REST during the outage: a JSON 503 within the pool wait, not a hanging request
        Instant asked = Instant.now();
        HttpResponse<String> during = http("GET", "/api/clients");
        assertError(during, 503, "database_unavailable");
        assertThat(during.headers().firstValue("Retry-After")).isPresent();
        assertThat(Duration.between(asked, Instant.now())).isLessThan(Duration.ofSeconds(4));

        // still DOWN at the end of the outage
        assertReadiness(503, "DOWN");
        assertThat(healthCheck("fleet-database").path("status").asText()).isEqualTo("DOWN");
        assertThat(http("GET", "/observe/health/live").statusCode()).isEqualTo(200);

        await().atMost(OUTAGE.plusSeconds(10)).until(() -> Duration.between(outageStart, Instant.now()).compareTo(OUTAGE) >= 0);
        db.start();
        Instant outageEnd = Instant.now();

        // the pool needs a moment to reconnect: failed polls are retried
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions().untilAsserted(() -> {
            assertThat(count("SELECT count(*) FROM client_events WHERE type = 'service_failed'")).isEqualTo(FAILURES);
            assertThat(commands).allSatisfy(id -> assertThat(status(id)).isEqualTo("completed"));
        });
        System.out.println("[outage] caught up " + Duration.between(outageEnd, Instant.now()) + " after the database came back");
        for (int i = 0; i < FAILURES; i++) {
            assertThat(count("SELECT count(*) FROM client_events WHERE type = 'service_failed' AND dedup_key = ?", "outage-" + i))
                    .as("service_failed outage-%d stored exactly once", i).isEqualTo(1);
        }
        for (String id : commands) {
            assertThat(commandEventTypes(id)).as("transitions of %s", id).containsExactly(
                    "command_queued", "command_published", "command_accepted", "command_executing", "command_completed");
        }
        for (int k = 0; k < DISPLAYS; k++) {
            int last = FAILURES - DISPLAYS + k;
            assertThat(scalar("SELECT app_version FROM clients WHERE uuid = ?", displays.get(k).uuid()))
                    .as("newest snapshot of display %d", k).isEqualTo("seq-" + last);
        }
        // no route is left stopped, and steady ingest goes on without a restart of the service
        List<String> routes = List.of("mqtt-ingest", "store-snapshots", "store-service-failed", "command-store-ack", "sweep-liveness", "sweep-commands");
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(routes)
                .allSatisfy(r -> assertThat(context.getRouteController().getRouteStatus(r)).as(r).isEqualTo(ServiceStatus.Started)));
        java.sql.Timestamp now = java.sql.Timestamp.from(Instant.now());
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(
                count("SELECT count(*) FROM clients WHERE uuid = ANY(?) AND last_alive_at > ?", beaters.toArray(UUID[]::new), now))
                .isEqualTo(beaters.size()));
        // readiness is UP again, without a restart: the same Camel context has run all along
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> assertReadiness(200, "UP"));
        assertThat(healthCheck("fleet-database").path("status").asText()).isEqualTo("UP");
        assertThat(context.getStatus()).isEqualTo(ServiceStatus.Started);
        assertThat(context.getUptime().toMillis()).isGreaterThan(uptimeBefore + OUTAGE.toMillis());
        beating.cancel(false);
        assertThat(http("GET", "/api/clients").statusCode()).isEqualTo(200);
        displays.forEach(TestDisplay::close);
        beat.disconnect();
        beat.close();
    }

    private void assertReadiness(int status, String state) {
        HttpResponse<String> r = http("GET", "/observe/health/ready");
        assertThat(r.statusCode()).as("readiness %s", r.body()).isEqualTo(status);
        assertThat(json(r.body()).path("status").asText()).isEqualTo(state);
    }

    private long count(String sql, Object... args) {
        return ((Number) scalar(sql, args)).longValue();
    }

    private MqttClient connectDevice(String name) throws Exception {
        MqttClient c = new MqttClient(mqttUrl(), name + "-" + clientId(), new MemoryPersistence());
        c.connect(broker.testUserOptions());
        return c;
    }

    private static void publish(MqttClient c, String topic, String payload) {
        try {
            MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
            m.setQos(1);
            c.publish(topic, m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
