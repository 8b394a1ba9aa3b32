package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every connection of the service's pool is taken by a slow query (15 s): REST answers a JSON
 * 503 {@code database_unavailable} with {@code Retry-After} within the pool wait
 * ({@code DATABASE_CONNECTION_TIMEOUT_MS}, 1 s here) instead of hanging, and everything displays
 * published meanwhile is stored once the queries end, without a restart.
 */
@Slow
class PoolExhaustionTest extends FleetTestSupport {

    private static final int POOL_SIZE = 4;
    private static final long CONNECTION_TIMEOUT_MS = 1000;
    private static final int SLOW_QUERY_S = 15;

    private final ExecutorService slowQueries = Executors.newFixedThreadPool(POOL_SIZE);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.db.pool-size", String.valueOf(POOL_SIZE));
        p.setProperty("fleet.db.connection-timeout-ms", String.valueOf(CONNECTION_TIMEOUT_MS));
        p.setProperty("fleet.rest.retry-after-s", "7");
        return p;
    }

    @AfterAll
    void stopSlowQueries() {
        slowQueries.shutdownNow();
    }

    @Test
    void exhaustedPoolAnswers503QuicklyAndIngestResumesWithNothingLost() throws Exception {
        TestDisplay display = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID()).silent();
        display.health("running");
        await().atMost(Duration.ofSeconds(10)).until(() -> events(display.uuid(), "client_registered") == 1);
        String command = createdId(display.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(Duration.ofSeconds(10)).until(() -> "published".equals(status(command)));

        List<CompletableFuture<Void>> slow = new ArrayList<>();
        CountDownLatch holding = new CountDownLatch(POOL_SIZE);
        for (int i = 0; i < POOL_SIZE; i++) {
            slow.add(CompletableFuture.runAsync(() -> {
                try (Connection c = dataSource().getConnection(); Statement s = c.createStatement()) {
                    holding.countDown();
                    s.execute("SELECT pg_sleep(" + SLOW_QUERY_S + ")");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, slowQueries));
        }
        // every pooled connection is now held by a slow query
        assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
        Instant exhaustedAt = Instant.now();

        // REST: a fast JSON 503 on reads and writes
        for (String[] call : List.of(new String[] {"GET", "/api/clients"}, new String[] {"GET", "/api/clients/" + display.uuid()},
                new String[] {"POST", "/api/clients/" + display.uuid() + "/clear_service_failed"})) {
            Instant asked = Instant.now();
            HttpResponse<String> r = http(call[0], call[1]);
            Duration took = Duration.between(asked, Instant.now());
            assertError(r, 503, "database_unavailable");
            assertThat(r.headers().firstValue("Retry-After")).hasValue("7");
            assertThat(took).as("%s %s answered after %s", call[0], call[1], took)
                    .isLessThan(Duration.ofMillis(CONNECTION_TIMEOUT_MS + 1500));
        }
        Instant asked = Instant.now();
        HttpResponse<String> create = httpPost("/api/clients/" + display.uuid() + "/commands", "{\"action\":\"reboot_host\",\"force\":true}");
        assertError(create, 503, "database_unavailable");
        assertThat(Duration.between(asked, Instant.now())).isLessThan(Duration.ofMillis(CONNECTION_TIMEOUT_MS + 1500));

        // displays keep publishing while the pool is exhausted
        for (int i = 0; i < 10; i++) {
            display.publish("service_failed", "{\"unit\":\"player.service\",\"event_id\":\"busy-" + i + "\"}");
        }
        display.ack(command, "accepted");
        display.ack(command, "completed");
        display.publish("health", "{\"process_status\":\"running\",\"app_version\":\"after-busy\"}");
        assertThat(Duration.between(exhaustedAt, Instant.now())).as("still within the slow queries")
                .isLessThan(Duration.ofSeconds(SLOW_QUERY_S - 5));

        CompletableFuture.allOf(slow.toArray(CompletableFuture[]::new)).get();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertThat(events(display.uuid(), "service_failed")).isEqualTo(10);
            assertThat(status(command)).isEqualTo("completed");
            assertThat(scalar("SELECT app_version FROM clients WHERE uuid = ?", display.uuid())).isEqualTo("after-busy");
        });
        assertThat(commandEventTypes(command)).containsExactly("command_queued", "command_published", "command_accepted", "command_completed");
        for (int i = 0; i < 10; i++) {
            assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND dedup_key = ?", display.uuid(), "busy-" + i))
                    .isEqualTo(1L);
        }
        HttpResponse<String> after = http("GET", "/api/clients/" + display.uuid());
        assertThat(after.statusCode()).isEqualTo(200);
        JsonNode client = json(after.body());
        assertThat(client.path("service_failed_unit").asText()).isEqualTo("player.service");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                context.getRouteController().getRouteStatus("mqtt-ingest")).isEqualTo(ServiceStatus.Started));
        display.close();
    }
}
