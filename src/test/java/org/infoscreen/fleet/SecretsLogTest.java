package org.infoscreen.fleet;

import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.infoscreen.fleet.security.ApiToken;
import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Secrets never leave the service (issue #5, item 7): the service runs as its own JVM
 * ({@link ServiceProcess}), configured by the environment as in production, with known values for the database password, the MQTT password (from
 * {@code MQTT_PASSWORD_FILE}) and two API tokens (from {@code API_TOKENS_FILE}), and with
 * {@code LOG_LEVEL=DEBUG} so Camel logs everything it logs at DEBUG. After a session of requests
 * (good ones, refused ones, errors, a command published over MQTT with the password), none of the
 * secrets appears in the captured log, in any answer (bodies and headers, health included) or in
 * the OpenAPI document. (PostgreSQL here uses trust authentication and the test broker accepts
 * any password, so the secrets are really used without being checked.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecretsLogTest {

    private final String dbPassword = "db-pw-" + UUID.randomUUID();
    private final String mqttPassword = "mqtt-pw-" + UUID.randomUUID();
    private final String adminToken = ApiToken.newToken();
    private final String viewerToken = ApiToken.newToken();
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String schema = "t_secretslogtest_" + run;
    private final String prefix = "fleettest-secrets-" + run;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<HttpResponse<String>> answers = java.util.Collections.synchronizedList(new ArrayList<>());
    private Path dir;
    private ServiceProcess service;

    @BeforeAll
    void startService() throws Exception {
        dir = Files.createTempDirectory("fleet-secrets");
        Path mqttPasswordFile = dir.resolve("mqtt-password");
        Files.writeString(mqttPasswordFile, mqttPassword + "\n");
        Path tokensFile = dir.resolve("api-tokens");
        Files.writeString(tokensFile, ApiToken.configLine("ops-admin", Role.ADMIN, adminToken) + "\n"
                + ApiToken.configLine("wall", Role.VIEWER, viewerToken) + "\n");

        Map<String, String> env = new HashMap<>();
        env.put("DATABASE_URL", TestServices.databaseUrl());
        env.put("DATABASE_USER", "postgres");
        env.put("DATABASE_PASSWORD", dbPassword);
        env.put("DATABASE_SCHEMA", schema);
        env.put("DATABASE_POOL_SIZE", "3");
        env.put("MQTT_URL", TestServices.mqttUrl());
        env.put("MQTT_USER", "fleet-service");
        env.put("MQTT_PASSWORD_FILE", mqttPasswordFile.toString());
        env.put("MQTT_CLIENT_ID", "fleet-secrets-" + run);
        env.put("MQTT_TOPIC_PREFIX", prefix);
        env.put("MQTT_SESSION_EXPIRY_S", "60");
        env.put("API_TOKENS_FILE", tokensFile.toString());
        env.put("LOG_LEVEL", "DEBUG");
        service = ServiceProcess.start(env).awaitHealthy(Duration.ofSeconds(90));
        await().atMost(Duration.ofSeconds(30)).until(() -> get("/api/whoami", adminToken).statusCode() == 200);
    }

    @AfterAll
    void stopService() throws Exception {
        if (service != null) {
            service.close();
        }
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Test
    void noSecretAppearsInTheLogInAnswersOrInTheOpenApiDocument() throws Exception {
        // a display registers; an admin sends it a command, which goes out over MQTT with the password
        UUID uuid = UUID.randomUUID();
        MqttClient device = new MqttClient(TestServices.mqttUrl(), "dev-secrets-" + run, new MemoryPersistence());
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        device.connect(o);
        try {
            MqttMessage health = new MqttMessage("{\"process_status\":\"running\"}".getBytes(StandardCharsets.UTF_8));
            health.setQos(1);
            device.publish(prefix + "/" + uuid + "/health", health);
            await().atMost(Duration.ofSeconds(20)).until(() -> get("/api/clients/" + uuid, viewerToken).statusCode() == 200);
            HttpResponse<String> created = send("POST", "/api/clients/" + uuid + "/commands", "{\"action\":\"restart_app\"}", adminToken);
            assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
            String id = created.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
            await().atMost(Duration.ofSeconds(20)).until(() -> get("/api/commands/" + id, viewerToken).body().contains("\"status\":\"published\""));
        } finally {
            device.disconnect();
            device.close();
        }

        // refused and failing requests
        String nearMiss = adminToken.substring(0, adminToken.length() - 2) + "zz";
        assertThat(get("/api/clients", nearMiss).statusCode()).isEqualTo(401);
        assertThat(get("/api/clients", null).statusCode()).isEqualTo(401);
        assertThat(send("POST", "/api/clients/" + uuid + "/commands", "{\"action\":\"restart_app\"}", viewerToken).statusCode()).isEqualTo(403);
        assertThat(get("/api/clients/not-a-uuid", viewerToken).statusCode()).isEqualTo(400);
        assertThat(get("/api/nope", adminToken).statusCode()).isEqualTo(404);
        assertThat(send("POST", "/api/clients/" + uuid + "/commands", "{\"action\":\"restart_app\",\"reason\":\"" + "y".repeat(80_000) + "\"}", adminToken)
                .statusCode()).isEqualTo(413);
        assertThat(send("POST", "/api/clients/" + uuid + "/commands", "{not json", adminToken).statusCode()).isEqualTo(400);
        assertThat(send("POST", "/api/clients/" + uuid + "/commands", "{\"action\":\"reboot_host\"}", adminToken).statusCode()).isEqualTo(409);
        HttpResponse<String> openapi = get("/api/openapi.json", viewerToken);
        assertThat(openapi.statusCode()).isEqualTo(200);
        HttpResponse<String> health = get("/observe/health", null);
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(get("/observe/health?data=true", null).statusCode()).isEqualTo(200);
        assertThat(get("/observe/health/ready", null).statusCode()).isIn(200, 503);
        assertThat(get("/observe/metrics", viewerToken).statusCode()).isEqualTo(200);

        service.stop(Duration.ofSeconds(30));
        String logged = service.log();
        assertThat(logged).as("Camel logged at DEBUG").contains(" DEBUG ").contains("Vert.x HttpServer started");

        for (String secret : List.of(dbPassword, mqttPassword, adminToken, viewerToken, nearMiss)) {
            assertThat(logged).as("the log").doesNotContain(secret);
            for (HttpResponse<String> r : List.copyOf(answers)) {
                assertThat(r.body()).as(r.request().uri() + " body").doesNotContain(secret);
                assertThat(r.headers().map().toString()).as(r.request().uri() + " headers").doesNotContain(secret);
            }
        }
        assertThat(openapi.body()).contains("\"bearer\"");
    }

    private HttpResponse<String> get(String path, String token) {
        return send("GET", path, null, token);
    }

    private HttpResponse<String> send(String method, String path, String body, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(service.baseUrl() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            answers.add(r);
            return r;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
