package org.infoscreen.fleet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that streams a body far over {@code API_MAX_BODY_BYTES} (curl, chunked, 30 MB) gets
 * 413 {@code body_too_large} as JSON, and the service logs no ERROR for it: Vert.x closes the
 * connection while the upload goes on, and the request's {@code HttpClosedException} used to be
 * logged as "Unhandled exception in router" with a stack trace, once per request. Runs the
 * service as its own process ({@link ServiceProcess}), where that happened.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BodyLimitLogTest {

    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String schema = "t_bodylimitlog_" + run;

    @AfterAll
    void dropSchema() throws Exception {
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Test
    void aHugeChunkedBodyIs413JsonWithoutAnErrorInTheLog() throws Exception {
        Path body = Files.createTempFile("fleet-huge-body", ".json");
        try (ServiceProcess service = ServiceProcess.start(Map.of(
                "DATABASE_URL", TestServices.databaseUrl(),
                "DATABASE_SCHEMA", schema,
                "MQTT_URL", TestServices.mqttUrl(),
                "MQTT_CLIENT_ID", "fleet-bodylimitlog-" + run,
                "MQTT_TOPIC_PREFIX", "fleettest-bodylimitlog-" + run))) {
            Files.writeString(body, "{\"action\":\"restart_app\",\"reason\":\"" + "x".repeat(30_000_000) + "\"}");
            service.awaitHealthy(Duration.ofSeconds(120));
            for (int i = 0; i < 3; i++) {
                Process p = new ProcessBuilder("curl", "-s", "-w", "\n%{http_code}", "-H", "Transfer-Encoding: chunked",
                        "-H", "Content-Type: application/json", "-H", "Authorization: Bearer " + service.adminToken(),
                        "--data-binary", "@" + body, service.baseUrl() + "/api/clients/" + UUID.randomUUID() + "/commands")
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(out).endsWith("\n413").contains("\"error\":\"body_too_large\"");
            }
            assertThat(service.status("/api/whoami")).isNotEqualTo(-1);
            String log = service.log();
            assertThat(log).doesNotContain("Unhandled exception").doesNotContain("HttpClosedException")
                    .doesNotContain(" ERROR ");
        } finally {
            Files.deleteIfExists(body);
        }
    }
}
