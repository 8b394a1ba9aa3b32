package org.infoscreen.fleet;

import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Against a mosquitto running the project's hardened {@code mosquitto/} config (the service logs in
 * as its ACL user over the plain loopback listener): a burst of QoS 1
 * messages larger than Mosquitto's default queue (1000) published while the service is away is
 * stored completely once it is back — the persistent session and the broker's queue sizing
 * together lose nothing.
 */
class OwnBrokerSessionTest extends FleetTestSupport {

    private static final int BURST = 3000;
    private MosquittoProcess broker;

    @Override
    protected synchronized String mqttUrl() {
        if (broker == null) {
            broker = MosquittoProcess.startProjectConfig(topicPrefix());
        }
        return broker.url();
    }

    @Override
    protected Properties extraProperties() {
        mqttUrl();
        return broker.serviceProperties(false);
    }

    @Override
    protected MqttConnectionOptions deviceConnectionOptions() {
        mqttUrl();
        return broker.testUserOptions();
    }

    @AfterAll
    void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void burstPublishedWhileServiceIsAwayIsStoredCompletelyAfterReconnect() throws Exception {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> events(uuid, "client_registered") == 1);

        context.getRouteController().stopRoute("mqtt-ingest");
        for (int i = 0; i < BURST; i++) {
            publish(uuid, "service_failed", "{\"unit\":\"player.service\",\"event_id\":\"burst-" + i + "\"}");
        }
        assertThat(events(uuid, "service_failed")).isZero();
        context.getRouteController().startRoute("mqtt-ingest");

        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> assertThat(events(uuid, "service_failed")).isEqualTo(BURST));
        assertThat(broker.log()).doesNotContain("Outgoing messages are being dropped");
    }

    @Test
    void queuedMessagesAreAcknowledgedOnceStoredAndNotRedeliveredOnTheNextStart() throws Exception {
        java.util.List<UUID> displays = java.util.stream.Stream.generate(UUID::randomUUID).limit(100).toList();
        UUID uuid = displays.get(0);
        context.getRouteController().stopRoute("mqtt-ingest");
        displays.forEach(d -> publish(d, "heartbeat", "{\"ts\":\"2026-11-29T12:00:00Z\"}"));
        context.getRouteController().startRoute("mqtt-ingest");
        await().atMost(Duration.ofSeconds(20)).until(() -> displays.stream().allMatch(d -> events(d, "client_registered") == 1));
        Object firstSeen = scalar("SELECT max(last_alive_at) FROM clients WHERE uuid = ANY(?)", (Object) displays.toArray(UUID[]::new));

        // a message delivered on session resume must have been acknowledged: the next start
        // does not bring it again (it would refresh last_alive_at of a silent display)
        context.getRouteController().stopRoute("mqtt-ingest");
        context.getRouteController().startRoute("mqtt-ingest");
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(scalar("SELECT max(last_alive_at) FROM clients WHERE uuid = ANY(?)",
                        (Object) displays.toArray(UUID[]::new))).isEqualTo(firstSeen));
    }
}
