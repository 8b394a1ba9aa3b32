package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The service against the project's hardened mosquitto over the TLS listener only (CA
 * validation, user name and password from {@code MQTT_PASSWORD_FILE}): it ingests, its commands
 * reach displays that log in with their own UUID, it reconnects after a broker restart and keeps
 * ingesting, and it follows a rotated password file and a rotated CA file at the next reconnect.
 * Refused reconnects (wrong password, untrusted certificate) are counted and visible in health.
 */
class MqttTlsServiceTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final UUID displayA = UUID.randomUUID();
    private static final UUID displayB = UUID.randomUUID();
    private final List<TestDisplay> displays = new java.util.concurrent.CopyOnWriteArrayList<>();
    private MosquittoProcess broker;
    private Path serviceCa;

    @Override
    protected synchronized String mqttUrl() {
        if (broker == null) {
            broker = MosquittoProcess.start(new MosquittoProcess.Options().topicPrefix(topicPrefix()).devices(displayA, displayB));
            try {
                // the service's own copy of the CA, as a deployment mounts it: rotated separately
                serviceCa = Files.createTempFile("fleet-service-ca", ".crt");
                Files.copy(broker.caCert(), serviceCa, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return broker.tlsUrl();
    }

    @Override
    protected Properties extraProperties() {
        mqttUrl();
        Properties p = broker.serviceProperties(true);
        p.setProperty("fleet.mqtt.tls.ca-cert", serviceCa.toString());
        p.setProperty("fleet.mqtt.reconnect-max-delay-ms", "2000");
        return p;
    }

    @Override
    protected MqttConnectionOptions deviceConnectionOptions() {
        MqttConnectionOptions o = broker.clientOptions(MosquittoProcess.TEST_USER, broker.password(MosquittoProcess.TEST_USER), true);
        o.setAutomaticReconnect(true);
        return o;
    }

    @AfterEach
    void closeDisplays() {
        displays.forEach(TestDisplay::close);
        displays.clear();
    }

    @AfterAll
    void stopBroker() throws IOException {
        if (broker != null) {
            broker.close();
        }
        if (serviceCa != null) {
            Files.deleteIfExists(serviceCa);
        }
    }

    /** A display that logs in over TLS with its UUID as user name, as in production. */
    private TestDisplay display(UUID uuid) {
        TestDisplay d = TestDisplay.connect(broker.tlsUrl(), topicPrefix(), uuid,
                broker.clientOptions(uuid.toString(), broker.password(uuid.toString()), true));
        displays.add(d);
        return d;
    }

    private String commandsClientId() {
        return clientId() + "-commands";
    }

    private void awaitServiceConnected() {
        await().atMost(WAIT).untilAsserted(() -> {
            JsonNode check = healthCheck("fleet-mqtt");
            assertThat(check.path("data").path(clientId() + ".connected").asBoolean()).as(check.toString()).isTrue();
            assertThat(check.path("status").asText()).as(check.toString()).isEqualTo("UP");
        });
    }

    /** @return failed connection attempts of the ingest client with this reason so far (0 when none) */
    private double failures(String reason) {
        double v = metric("fleet_mqtt_connection_failures_total", "client_id", clientId(), "reason", reason);
        return Double.isNaN(v) ? 0 : v;
    }

    private long clientRows(UUID uuid) {
        return ((Number) scalar("SELECT count(*) FROM clients WHERE uuid = ?", uuid)).longValue();
    }

    private Object lastAlive(UUID uuid) {
        return scalar("SELECT last_alive_at FROM clients WHERE uuid = ?", uuid);
    }

    @Test
    void ingestsThroughTheTlsListenerWithCaValidationAndItsOwnLogin() throws Exception {
        TestDisplay a = display(displayA);
        a.health("running");
        await().atMost(WAIT).until(() -> "running".equals(scalar("SELECT process_status FROM clients WHERE uuid = ?", displayA)));

        JsonNode check = healthCheck("fleet-mqtt");
        assertThat(check.path("status").asText()).isEqualTo("UP");
        assertThat(check.path("data").path("tls").asBoolean()).isTrue();
        assertThat(check.path("data").path("tls_insecure").asBoolean()).isFalse();
        // the broker saw the service log in as its ACL user on the TLS listener
        assertThat(broker.log()).contains("as " + clientId() + " (p5, c0, k30, u'" + MosquittoProcess.SERVICE_USER + "')");
        assertThat(broker.tlsUrl()).startsWith("ssl://");
    }

    @Test
    void commandsReachTheDisplayOverTlsAndItsAcksComeBack() {
        TestDisplay b = display(displayB);
        b.heartbeat();
        await().atMost(WAIT).until(() -> clientRows(displayB) == 1);
        String id = createdId(displayB, "{\"action\":\"restart_app\",\"force\":true}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(b.received(id)).isPresent();
    }

    @Test
    void reconnectsAfterBrokerRestartAndKeepsIngestingAndPublishing() {
        awaitServiceConnected();
        double refusedBefore = failures("auth_refused") + failures("tls_untrusted");
        TestDisplay a = display(displayA);
        a.heartbeat();
        await().atMost(WAIT).until(() -> lastAlive(displayA) != null);
        Object before = lastAlive(displayA);

        broker.restart();
        a.connect();
        a.health("running"); // queued for the service's persistent session if it is not back yet
        awaitServiceConnected();
        await().atMost(WAIT).until(() -> !before.equals(lastAlive(displayA)));

        String id = createdId(displayA, "{\"action\":\"restart_app\",\"force\":true}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        // attempts while the broker was down count as unreachable, never as refused
        assertThat(failures("auth_refused") + failures("tls_untrusted")).isEqualTo(refusedBefore);
    }

    @Test
    void messagesQueuedForTheServiceSurviveABrokerRestart() throws Exception {
        awaitServiceConnected();
        List<UUID> queued = java.util.stream.Stream.generate(UUID::randomUUID).limit(5).toList();
        context.getRouteController().stopRoute("mqtt-ingest");
        queued.forEach(u -> publish(u, "heartbeat", "{}"));
        broker.restart(); // persistence: the session and its queued QoS 1 messages are saved and loaded
        context.getRouteController().startRoute("mqtt-ingest");
        await().atMost(WAIT).until(() -> queued.stream().allMatch(u -> clientRows(u) == 1));
    }

    @Test
    void passwordRotatedThroughTheFileIsUsedAtTheNextReconnect() throws Exception {
        awaitServiceConnected();
        double refusedBefore = failures("auth_refused");
        String old = broker.password(MosquittoProcess.SERVICE_USER);
        String rotated = "rotated-" + UUID.randomUUID();
        // 1. the broker gets the new password (SIGHUP: the service stays connected), 2. the secret file follows
        broker.setPassword(MosquittoProcess.SERVICE_USER, rotated);
        Files.writeString(broker.servicePasswordFile(), rotated + "\n");
        await().atMost(WAIT).until(() -> MosquittoHardeningTest.connectReasonCode(broker.tlsUrl(),
                broker.clientOptions(MosquittoProcess.SERVICE_USER, old, true)) == 0x87);

        broker.restart();
        awaitServiceConnected();
        TestDisplay b = display(displayB);
        b.health("running");
        await().atMost(WAIT).until(() -> "running".equals(scalar("SELECT process_status FROM clients WHERE uuid = ?", displayB)));
        String id = createdId(displayB, "{\"action\":\"restart_app\",\"force\":true}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(failures("auth_refused")).isEqualTo(refusedBefore);
    }

    @Test
    void reconnectWithAnOutdatedPasswordIsRefusedVisiblyAndHealsOnceTheFileIsRotated() throws Exception {
        awaitServiceConnected();
        double refusedBefore = failures("auth_refused");
        String rotated = "rotated-" + UUID.randomUUID();
        broker.setPassword(MosquittoProcess.SERVICE_USER, rotated);
        broker.restart(); // the service reconnects with the password its file still holds

        await().atMost(WAIT).untilAsserted(() -> {
            JsonNode check = healthCheck("fleet-mqtt");
            assertThat(check.path("status").asText()).isEqualTo("DOWN");
            assertThat(check.path("data").path(clientId() + ".last_failure_reason").asText()).isEqualTo("auth_refused");
            assertThat(check.path("message").asText()).contains(clientId()).contains("auth_refused");
        });
        assertThat(failures("auth_refused")).isGreaterThan(refusedBefore);
        assertThat(metric("fleet_mqtt_connected", "client_id", clientId())).isZero();
        assertThat(http("GET", "/observe/health").body()).doesNotContain(rotated);

        Files.writeString(broker.servicePasswordFile(), rotated + "\n");
        awaitServiceConnected();
        assertThat(metric("fleet_mqtt_connected", "client_id", clientId())).isEqualTo(1);
        TestDisplay a = display(displayA);
        Object before = lastAlive(displayA);
        a.heartbeat();
        await().atMost(WAIT).until(() -> lastAlive(displayA) != null && !lastAlive(displayA).equals(before));
    }

    @Test
    void rotatedCaIsFollowedAtTheNextReconnectAndAnUntrustedBrokerIsRefused() throws Exception {
        awaitServiceConnected();
        double untrustedBefore = failures("tls_untrusted");
        // a new CA and a server certificate from it: the service still trusts only the old CA
        broker.genCerts(Map.of(), "ca");
        broker.genCerts(Map.of(), "server");
        broker.restart();

        await().atMost(WAIT).untilAsserted(() -> {
            JsonNode check = healthCheck("fleet-mqtt");
            assertThat(check.path("status").asText()).isEqualTo("DOWN");
            assertThat(check.path("data").path(clientId() + ".last_failure_reason").asText()).isEqualTo("tls_untrusted");
        });
        assertThat(failures("tls_untrusted")).isGreaterThan(untrustedBefore);

        // the operator distributes the new CA: the next reconnect attempt reads it
        Files.copy(broker.caCert(), serviceCa, StandardCopyOption.REPLACE_EXISTING);
        awaitServiceConnected();
        TestDisplay b = display(displayB);
        Object before = lastAlive(displayB);
        b.heartbeat();
        await().atMost(WAIT).until(() -> lastAlive(displayB) != null && !lastAlive(displayB).equals(before));
        String id = createdId(displayB, "{\"action\":\"restart_app\",\"force\":true}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
    }
}
