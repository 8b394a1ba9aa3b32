package org.infoscreen.fleet;

import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@link ServiceProcess}: the service runs as its own JVM configured by environment variables
 * only, stores what a display publishes, and dies at once on SIGKILL; its readiness turns UP only
 * once the REST routes answer (no 404 after UP during start-up); while it stops after SIGTERM
 * it answers 503 or nothing, never the 404 of a route already stopped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServiceProcessTest {

    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String schema = "t_serviceprocess_" + run;
    private final String prefix = "fleettest-serviceprocess-" + run;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterAll
    void dropSchema() throws Exception {
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Test
    void serviceProcessStoresAHeartbeatAndDiesOnSigkill() throws Exception {
        try (ServiceProcess service = ServiceProcess.start(Map.of(
                "DATABASE_URL", TestServices.databaseUrl(),
                "DATABASE_SCHEMA", schema,
                "MQTT_URL", TestServices.mqttUrl(),
                "MQTT_CLIENT_ID", "fleet-serviceprocess-" + run,
                "MQTT_TOPIC_PREFIX", prefix,
                "MQTT_SESSION_EXPIRY_S", "60"))) {
            service.awaitHealthy(Duration.ofSeconds(90));

            UUID display = UUID.randomUUID();
            MqttClient device = new MqttClient(TestServices.mqttUrl(), "dev-serviceprocess-" + run, new MemoryPersistence());
            device.connect();
            MqttMessage m = new MqttMessage("{}".getBytes(StandardCharsets.UTF_8));
            m.setQos(1);
            device.publish(prefix + "/" + display + "/heartbeat", m);
            device.disconnect();
            device.close();

            await().atMost(Duration.ofSeconds(20)).until(() -> clientRows(display) == 1);

            assertThat(service.kill()).isEqualTo(137);
            assertThat(service.isAlive()).isFalse();
            assertThat(service.status("/observe/health")).isEqualTo(-1);
        }
    }

    @Test
    void readinessIsUpOnlyOnceTheRestRoutesAnswer() throws Exception {
        try (ServiceProcess service = ServiceProcess.start(Map.of(
                "DATABASE_URL", TestServices.databaseUrl(),
                "DATABASE_SCHEMA", schema,
                "MQTT_URL", TestServices.mqttUrl(),
                "MQTT_CLIENT_ID", "fleet-serviceprocess-ready-" + run,
                "MQTT_TOPIC_PREFIX", prefix + "-ready",
                "MQTT_SESSION_EXPIRY_S", "60"))) {
            // poll readiness as a load balancer would; the first request after UP must reach its route
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(50)).until(() -> {
                if (!service.isAlive()) {
                    throw new IllegalStateException("service exited:\n" + service.log());
                }
                return service.status("/observe/health/ready") == 200;
            });
            HttpResponse<String> clients = get(service, "/api/clients");
            HttpResponse<String> whoami = get(service, "/api/whoami");
            assertThat(clients.statusCode()).as("GET /api/clients right after readiness turned UP: %s", clients.body()).isEqualTo(200);
            assertThat(whoami.statusCode()).as("GET /api/whoami right after readiness turned UP: %s", whoami.body()).isEqualTo(200);
            assertThat(service.status("/observe/health/ready")).isEqualTo(200);
        }
    }

    @Test
    @Slow
    void whileStoppingKnownPathsAnswer503OrNothingNeverNotFound() throws Exception {
        try (ServiceProcess service = ServiceProcess.start(Map.of(
                "DATABASE_URL", TestServices.databaseUrl(),
                "DATABASE_SCHEMA", schema,
                "MQTT_URL", TestServices.mqttUrl(),
                "MQTT_CLIENT_ID", "fleet-serviceprocess-stop-" + run,
                "MQTT_TOPIC_PREFIX", prefix + "-stop",
                "MQTT_SESSION_EXPIRY_S", "60",
                "REST_RETRY_AFTER_S", "7"))) {
            service.awaitHealthy(Duration.ofSeconds(120));
            assertThat(get(service, "/api/clients").statusCode()).isEqualTo(200);
            service.terminate();
            // poll as the dashboard or a load balancer would until the process is gone
            Map<Integer, Integer> seen = new java.util.TreeMap<>();
            HttpResponse<String> unavailable = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (service.isAlive() && System.nanoTime() < deadline) {
                for (String path : new String[] {"/api/clients", "/api/whoami", "/"}) {
                    HttpResponse<String> r = getOrNull(service, path);
                    int status = r == null ? -1 : r.statusCode();
                    seen.merge(status, 1, Integer::sum);
                    assertThat(status).as("%s while stopping: %s", path, r == null ? "" : r.body()).isIn(200, 503, -1);
                    if (status == 503 && unavailable == null) {
                        unavailable = r;
                    }
                }
            }
            assertThat(service.isAlive()).as("stopped within 60 s").isFalse();
            assertThat(unavailable).as("statuses seen while stopping: %s", seen).isNotNull();
            assertThat(unavailable.body()).contains("\"error\":\"unavailable\"");
            assertThat(unavailable.headers().firstValue("Retry-After")).as("REST_RETRY_AFTER_S").hasValue("7");
            assertThat(unavailable.headers().firstValue("Content-Type")).hasValue("application/json");
        }
    }

    @Test
    @Slow
    void onSigtermTheEmbeddedDatabaseOutlivesTheRequestsInFlight() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("fleet-embedded-stop-");
        int dbPort = TestServices.freePort();
        try (ServiceProcess service = ServiceProcess.start(Map.of(
                "DATABASE_URL", "",
                "EMBEDDED_DB_DIR", dir.resolve("postgres").toString(),
                "EMBEDDED_DB_PORT", String.valueOf(dbPort),
                "MQTT_URL", TestServices.mqttUrl(),
                "MQTT_CLIENT_ID", "fleet-serviceprocess-embedded-" + run,
                "MQTT_TOPIC_PREFIX", prefix + "-embedded",
                "MQTT_SESSION_EXPIRY_S", "60"))) {
            service.awaitHealthy(Duration.ofSeconds(180));
            try (Connection lock = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + dbPort + "/postgres", "postgres", null)) {
                lock.setAutoCommit(false);
                String clients;
                try (Statement st = lock.createStatement();
                     ResultSet rs = st.executeQuery("SELECT schemaname || '.clients' FROM pg_tables WHERE tablename = 'clients'")) {
                    rs.next();
                    clients = rs.getString(1);
                }
                try (Statement st = lock.createStatement()) {
                    st.execute("LOCK TABLE " + clients + " IN ACCESS EXCLUSIVE MODE");
                }
                // a request in flight when SIGTERM comes: it waits for the lock this test holds
                var inFlight = HTTP.sendAsync(HttpRequest.newBuilder(URI.create(service.baseUrl() + "/api/clients"))
                        .header("Authorization", "Bearer " + service.adminToken()).timeout(Duration.ofSeconds(90)).build(),
                        HttpResponse.BodyHandlers.ofString());
                await().atMost(Duration.ofSeconds(30)).until(() -> {
                    try (Statement st = lock.createStatement(); ResultSet rs = st.executeQuery(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%clients%'")) {
                        rs.next();
                        return rs.getLong(1) > 0;
                    }
                });
                int before = service.log().length();
                service.terminate();
                // Camel's graceful shutdown waits for the request; the database must still be there
                await().atMost(Duration.ofSeconds(60)).until(() -> service.log().substring(before).contains("inflight") || inFlight.isDone());
                lock.commit();
                assertThat(inFlight.get(60, java.util.concurrent.TimeUnit.SECONDS).statusCode())
                        .as("the request in flight at SIGTERM").isEqualTo(200);
                service.stop(Duration.ofSeconds(60));
                assertThat(service.isAlive()).as("stopped").isFalse();
                String shutdown = service.log().substring(before);
                // the database is a service of the Camel context, stopped last (a shutdown hook of its own
                // stopped it at SIGTERM while REST, Quartz and the ingest still used it)
                assertThat(shutdown).as("log of the shutdown").contains("Embedded PostgreSQL stopped")
                        .doesNotContain(" ERROR ").doesNotContain("This connection has been closed");
            }
        } finally {
            try (var files = java.nio.file.Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** @return the answer, or null when nothing answers (connection refused or reset) */
    private static HttpResponse<String> getOrNull(ServiceProcess service, String path) {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create(service.baseUrl() + path)).timeout(Duration.ofSeconds(5))
                    .header("Authorization", "Bearer " + service.adminToken()).GET().build();
            return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static HttpResponse<String> get(ServiceProcess service, String path) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(service.baseUrl() + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + service.adminToken()).GET().build();
        return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private long clientRows(UUID uuid) throws Exception {
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + schema + ".clients WHERE uuid = ?")) {
            ps.setObject(1, uuid);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (java.sql.SQLException e) {
            return -1; // schema not migrated yet
        }
    }
}
