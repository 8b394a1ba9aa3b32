package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Done-when of issue #5 (MQTT half): a deployment configured only through environment variables,
 * as docker-compose passes them, runs the service as its own process against the project's
 * hardened mosquitto with the plain listener closed, over TLS only, with the shipped ACL
 * (prefix {@code infoscreen}): a display that logs in with its UUID is ingested and receives and
 * acknowledges a command. And {@code MQTT_TLS_INSECURE=true} says so once at start and in health.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsOnlyDeploymentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterAll
    void dropSchemas() throws Exception {
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS t_tlsdeploy_" + run + " CASCADE");
            s.execute("DROP SCHEMA IF EXISTS t_tlsinsecure_" + run + " CASCADE");
            s.execute("DROP SCHEMA IF EXISTS t_tlswrongpw_" + run + " CASCADE");
        }
    }

    /** The variables a docker-compose service block would set for TLS with a password from a Docker secret. */
    private Map<String, String> composeEnvironment(MosquittoProcess broker, String url, String schema) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("DATABASE_URL", TestServices.databaseUrl());
        env.put("DATABASE_SCHEMA", schema);
        env.put("MQTT_URL", url);
        env.put("MQTT_TLS_ENABLED", "true");
        env.put("MQTT_TLS_CA_CERT", broker.caCert().toString());
        env.put("MQTT_USER", MosquittoProcess.SERVICE_USER);
        env.put("MQTT_PASSWORD_FILE", broker.servicePasswordFile().toString());
        env.put("MQTT_CLIENT_ID", "fleet-tlsdeploy-" + schema);
        env.put("MQTT_SESSION_EXPIRY_S", "60");
        return env;
    }

    private JsonNode get(ServiceProcess service, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(service.baseUrl() + path))
                        .header("Authorization", "Bearer " + service.adminToken()).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private JsonNode healthCheck(ServiceProcess service, String name) throws Exception {
        for (JsonNode c : get(service, "/observe/health?exposureLevel=full&data=true").path("checks")) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no health check " + name);
    }

    @Test
    void environmentOnlyDeploymentRunsAgainstTheHardenedBrokerOverTlsOnly() throws Exception {
        UUID uuid = UUID.randomUUID();
        try (MosquittoProcess broker = MosquittoProcess.start(new MosquittoProcess.Options().plainListener(false).devices(uuid));
             ServiceProcess service = ServiceProcess.start(composeEnvironment(broker, broker.tlsUrl("localhost"), "t_tlsdeploy_" + run))) {
            // the plain listener is closed: TLS is the only way in
            assertThat(TestServices.answers("127.0.0.1", broker.plainPort())).isFalse();
            Matcher listeners = Pattern.compile("Opening ipv4 listen socket on port (\\d+)").matcher(broker.log());
            assertThat(listeners.results().map(m -> m.group(1)).toList()).containsExactly(String.valueOf(broker.tlsPort()));

            service.awaitHealthy(Duration.ofSeconds(90));
            JsonNode mqtt = healthCheck(service, "fleet-mqtt");
            assertThat(mqtt.path("status").asText()).isEqualTo("UP");
            assertThat(mqtt.path("data").path("tls").asBoolean()).isTrue();
            assertThat(healthCheck(service, "fleet-tls-certificates").path("status").asText()).isEqualTo("UP");
            // the self-probe passes the hardened ACL (<prefix>/_service/#) and comes back over TLS
            await().atMost(WAIT).untilAsserted(() -> {
                JsonNode ingest = healthCheck(service, "fleet-mqtt-ingest");
                assertThat(ingest.path("status").asText()).isEqualTo("UP");
                assertThat(ingest.path("data").path("last_probe_at").asText()).isNotBlank();
            });
            assertThat(service.log()).contains("MQTT mode: external broker at ssl://localhost:" + broker.tlsPort()).doesNotContain("MQTT_TLS_INSECURE");

            try (TestDisplay display = TestDisplay.connect(broker.tlsUrl(), "infoscreen", uuid,
                    broker.clientOptions(uuid.toString(), broker.password(uuid.toString()), true))) {
                display.health("running");
                await().atMost(WAIT).until(() -> "running".equals(get(service, "/api/clients/" + uuid).path("process_status").asText()));

                HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(service.baseUrl() + "/api/clients/" + uuid + "/commands"))
                        .header("Content-Type", "application/json")
                        .header("Authorization", "Bearer " + service.adminToken())
                        .POST(HttpRequest.BodyPublishers.ofString("{\"action\":\"restart_app\"}")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
                String id = JSON.readTree(created.body()).path("id").asText();
                await().atMost(WAIT).until(() -> "completed".equals(get(service, "/api/commands/" + id).path("status").asText()));
                assertThat(display.received(id)).isPresent();
            }
            assertThat(service.log()).doesNotContain(broker.password(MosquittoProcess.SERVICE_USER));
        }
    }

    @Test
    void wrongSecretAtStartIsReportedInHealthAndHealsOnceTheSecretFileIsFixed() throws Exception {
        try (MosquittoProcess broker = MosquittoProcess.start(new MosquittoProcess.Options().plainListener(false))) {
            java.nio.file.Path secret = java.nio.file.Files.createTempFile("fleet-mqtt-secret", "");
            java.nio.file.Files.writeString(secret, "not-the-password\n");
            Map<String, String> env = composeEnvironment(broker, broker.tlsUrl(), "t_tlswrongpw_" + run);
            env.put("MQTT_PASSWORD_FILE", secret.toString());
            try (ServiceProcess service = ServiceProcess.start(env)) {
                String clientId = "fleet-tlsdeploy-t_tlswrongpw_" + run;
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
                    JsonNode mqtt = healthCheck(service, "fleet-mqtt");
                    assertThat(mqtt.path("status").asText()).isEqualTo("DOWN");
                    assertThat(mqtt.path("data").path(clientId + ".last_failure_reason").asText()).isEqualTo("auth_refused");
                });
                assertThat(service.status("/observe/health")).isEqualTo(503);

                // the route controller retries the start; the next attempt reads the fixed file
                java.nio.file.Files.writeString(secret, broker.password(MosquittoProcess.SERVICE_USER) + "\n");
                service.awaitHealthy(Duration.ofSeconds(60));
                assertThat(healthCheck(service, "fleet-mqtt").path("data").path(clientId + ".connected").asBoolean()).isTrue();
                assertThat(service.log()).doesNotContain("not-the-password");
            } finally {
                java.nio.file.Files.deleteIfExists(secret);
            }
        }
    }

    @Test
    void insecureModeConnectsDespiteAHostNameMismatchAndWarnsOnceAtStartAndInHealth() throws Exception {
        // the certificate names only "mosquitto"; the service dials 127.0.0.1
        try (MosquittoProcess broker = MosquittoProcess.start(new MosquittoProcess.Options().serverDns("mosquitto").serverIps(""))) {
            Map<String, String> env = composeEnvironment(broker, broker.tlsUrl(), "t_tlsinsecure_" + run);
            env.put("MQTT_TLS_INSECURE", "true");
            try (ServiceProcess service = ServiceProcess.start(env)) {
                service.awaitHealthy(Duration.ofSeconds(90));
                await().atMost(WAIT).untilAsserted(() -> {
                    JsonNode mqtt = healthCheck(service, "fleet-mqtt");
                    assertThat(mqtt.path("status").asText()).isEqualTo("UP");
                    assertThat(mqtt.path("data").path("tls_insecure").asBoolean()).isTrue();
                    assertThat(mqtt.path("data").path("fleet-tlsdeploy-t_tlsinsecure_" + run + ".connected").asBoolean()).isTrue();
                    assertThat(mqtt.path("message").asText()).startsWith("WARNING: MQTT_TLS_INSECURE=true");
                });
                long warnings = service.log().lines().filter(l -> l.contains(" WARN ") && l.contains("MQTT_TLS_INSECURE=true")).count();
                assertThat(warnings).isEqualTo(1);
            }
        }
    }
}
