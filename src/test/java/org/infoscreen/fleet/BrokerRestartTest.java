package org.infoscreen.fleet;

import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The broker (mosquitto with the project's config, a process of this test) restarts while
 * displays with persistent sessions keep publishing: the service reconnects and resubscribes by
 * itself, every service_failed and ack the displays published during the outage is stored exactly
 * once, and a command requested while the broker was down reaches its display afterwards.
 */
@Slow
class BrokerRestartTest extends FleetTestSupport {

    private static final int DISPLAYS = 10;
    private static final Duration OUTAGE = Duration.ofSeconds(15);
    private static final int RECONNECT_MAX_DELAY_MS = 4000;

    private MosquittoProcess broker;
    private final ScheduledExecutorService clock = Executors.newScheduledThreadPool(1);
    private final List<PersistentDevice> devices = new ArrayList<>();

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
        p.setProperty("fleet.mqtt.reconnect-max-delay-ms", String.valueOf(RECONNECT_MAX_DELAY_MS));
        return p;
    }

    @AfterAll
    void closeDevices() {
        clock.shutdownNow();
        devices.forEach(PersistentDevice::close);
    }

    @Test
    void brokerRestartLosesNothingAndTheServiceReconnectsByItself() {
        for (int i = 0; i < DISPLAYS; i++) {
            PersistentDevice d = new PersistentDevice(mqttUrl(), topicPrefix(), UUID.randomUUID(), broker.testUserOptions());
            devices.add(d);
            d.publish("health", "{\"process_status\":\"running\",\"hostname\":\"display-" + i + "\"}");
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> count("SELECT count(*) FROM clients") == DISPLAYS);
        List<String> before = new ArrayList<>();
        for (PersistentDevice d : devices) {
            before.add(createdId(d.uuid(), "{\"action\":\"restart_app\",\"ttl_s\":600}"));
        }
        await().atMost(Duration.ofSeconds(15)).until(() -> before.stream().allMatch(id -> "published".equals(status(id))));
        await().atMost(Duration.ofSeconds(15)).until(() ->
                devices.stream().allMatch(d -> d.receivedCommandIds().contains(before.get(devices.indexOf(d)))));

        // steady ingest: every display beats twice a second, throughout
        ScheduledFuture<?> beating = clock.scheduleAtFixedRate(
                () -> devices.forEach(d -> d.publish("heartbeat", "{\"process_status\":\"running\"}")), 0, 500, TimeUnit.MILLISECONDS);

        broker.stop();
        Instant down = Instant.now();
        // during the outage: three failures and the whole ack sequence per display, and one new command
        for (int i = 0; i < DISPLAYS; i++) {
            PersistentDevice d = devices.get(i);
            for (int k = 0; k < 3; k++) {
                d.publish("service_failed", "{\"unit\":\"player.service\",\"event_id\":\"restart-" + i + "-" + k + "\"}");
            }
            for (String ack : List.of("accepted", "executing", "completed")) {
                d.ack(before.get(i), ack);
            }
        }
        PersistentDevice late = devices.get(0);
        String during = createdId(late.uuid(), "{\"action\":\"reboot_host\",\"force\":true,\"ttl_s\":600}");
        assertThat(status(during)).as("the broker is down: the command waits").isEqualTo("queued");
        await().atMost(OUTAGE.plusSeconds(5)).until(() -> Duration.between(down, Instant.now()).compareTo(OUTAGE) >= 0);
        broker.start();
        Instant up = Instant.now();
        // the service is back within MQTT_RECONNECT_MAX_DELAY_MS (4 s here) and a little: a heartbeat sent now is stored
        java.sql.Timestamp upAt = java.sql.Timestamp.from(up);
        await().atMost(Duration.ofMillis(RECONNECT_MAX_DELAY_MS).plusSeconds(10)).ignoreExceptions().until(() -> count("SELECT count(*) FROM clients WHERE last_alive_at > ?", upAt) > 0);
        System.out.println("[broker-restart] ingest back " + Duration.between(up, Instant.now()) + " after the broker");

        devices.forEach(d -> d.awaitDelivered(Duration.ofSeconds(60)));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertThat(count("SELECT count(*) FROM client_events WHERE type = 'service_failed'")).isEqualTo(DISPLAYS * 3L);
            assertThat(before).allSatisfy(id -> assertThat(status(id)).isEqualTo("completed"));
        });
        System.out.println("[broker-restart] caught up " + Duration.between(up, Instant.now()) + " after the broker came back");
        for (int i = 0; i < DISPLAYS; i++) {
            for (int k = 0; k < 3; k++) {
                assertThat(count("SELECT count(*) FROM client_events WHERE type = 'service_failed' AND dedup_key = ?", "restart-" + i + "-" + k))
                        .as("restart-%d-%d stored once", i, k).isEqualTo(1);
            }
            assertThat(commandEventTypes(before.get(i))).containsExactly(
                    "command_queued", "command_published", "command_accepted", "command_executing", "command_completed");
        }
        // the command asked for while the broker was down is published by the sweep and reaches its display
        await().atMost(Duration.ofSeconds(20)).until(() -> "published".equals(status(during)));
        await().atMost(Duration.ofSeconds(20)).until(() -> late.receivedCommandIds().contains(during));
        assertThat(commandEvents(during, "command_published")).isEqualTo(1);

        // resubscribed: heartbeats sent from now on are stored, without a restart of anything
        java.sql.Timestamp now = java.sql.Timestamp.from(Instant.now());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                count("SELECT count(*) FROM clients WHERE last_alive_at > ?", now)).isEqualTo(DISPLAYS));
        beating.cancel(false);
        assertThat(context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started);
        assertThat(devices).allSatisfy(d -> assertThat(d.connects()).as("the display reconnected").isGreaterThanOrEqualTo(2));
    }

    private long count(String sql, Object... args) {
        return ((Number) scalar(sql, args)).longValue();
    }
}
