package org.infoscreen.fleet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A configured MQTT TLS file (CA, client certificate, key) that is missing or not a readable
 * file stops the service at start with one clear message naming the setting and the file, not
 * with a stack trace in a reconnect loop. Runs the service as its own process
 * ({@link ServiceProcess}), as a deployment does.
 */
@org.junit.jupiter.api.TestInstance(org.junit.jupiter.api.TestInstance.Lifecycle.PER_CLASS)
class MqttTlsStartupTest {

    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String schema = "t_mqtttlsstartup_" + run;
    @TempDir
    Path tmp;

    @AfterAll
    void dropSchema() throws Exception {
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    private String startAndAwaitExit(Map<String, String> tls) {
        Map<String, String> env = new HashMap<>(Map.of(
                "DATABASE_URL", TestServices.databaseUrl(),
                "DATABASE_SCHEMA", schema,
                "MQTT_URL", "ssl://127.0.0.1:" + TestServices.freePort(),
                "MQTT_TLS_ENABLED", "true",
                "MQTT_CLIENT_ID", "fleet-tlsstartup-" + run,
                "MQTT_TOPIC_PREFIX", "fleettest-tlsstartup-" + run));
        env.putAll(tls);
        try (ServiceProcess service = ServiceProcess.start(env)) {
            await().atMost(Duration.ofSeconds(90)).until(() -> !service.isAlive());
            assertThat(service.stop(Duration.ofSeconds(1))).as(service.log()).isNotZero();
            return service.log();
        }
    }

    @Test
    void aMissingCaFileStopsTheServiceWithAClearMessage() throws Exception {
        Path missing = tmp.resolve("no-such-ca.crt");
        String log = startAndAwaitExit(Map.of("MQTT_TLS_CA_CERT", missing.toString()));
        assertThat(log).contains("MQTT_TLS_CA_CERT names " + missing + ", which does not exist");
        // no connection was tried: no reconnect loop, no TLS stack trace
        assertThat(log).doesNotContain("PKIX").doesNotContain("reconnect").doesNotContain("MqttException");
    }

    @Test
    void aKeyPathThatIsNoReadableFileStopsTheServiceWithAClearMessage() throws Exception {
        Path cert = Files.writeString(tmp.resolve("client.crt"), "-----BEGIN CERTIFICATE-----\n");
        Path directory = Files.createDirectories(tmp.resolve("key-is-a-directory"));
        String log = startAndAwaitExit(Map.of("MQTT_TLS_CERTFILE", cert.toString(), "MQTT_TLS_KEYFILE", directory.toString()));
        assertThat(log).contains("MQTT_TLS_KEYFILE names " + directory + ", which is not a file this service may read");
        assertThat(log).doesNotContain("reconnect").doesNotContain("MqttException");
    }
}
