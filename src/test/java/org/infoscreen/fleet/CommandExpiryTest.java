package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Commands to displays that do not answer (DESIGN.md §4): a command to a silent display stays
 * published and expires after its TTL with one event, the broker drops it by the MQTT 5 message
 * expiry, a late ack changes nothing; the command sweep publishes what is still queued; and a
 * restart of the service never leaves a command stuck. Command sweep every 300 ms.
 */
class CommandExpiryTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final List<String> SERVICE_ROUTES = List.of("mqtt-ingest", "sweep-liveness", "sweep-commands");

    private final List<TestDisplay> displays = new ArrayList<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.lockout-s", "2");
        return p;
    }

    @AfterEach
    void closeDisplays() {
        displays.forEach(TestDisplay::close);
        displays.clear();
    }

    @Test
    void commandToASilentDisplayStaysPublishedThenExpiresOnceAndALateAckChangesNothing() {
        // a display with a persistent session that went away: the broker keeps its subscription
        TestDisplay d = register(new TestDisplay(mqttUrl(), topicPrefix(), UUID.randomUUID(), true).connect().silent());
        d.disconnect();

        String id = createdId(d.uuid(), "{\"action\":\"restart_app\",\"ttl_s\":10}");
        await().atMost(WAIT).until(() -> "published".equals(status(id)));
        Instant expiresAt = instant(commandRow(id).get("expires_at"));
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(status(id)).as("never shown as delivered").isEqualTo("published");
            assertThat(commandRow(id).get("acked_at")).isNull();
        });

        await().atMost(Duration.ofSeconds(15)).until(() -> "expired".equals(status(id)));
        Map<String, Object> row = commandRow(id);
        assertThat(instant(row.get("finished_at"))).as("not before expires_at").isAfterOrEqualTo(expiresAt)
                .isBefore(expiresAt.plusSeconds(3));
        assertThat((String) row.get("detail")).contains("expired in status published");
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                assertThat(commandEvents(id, "command_expired")).isEqualTo(1));
        JsonNode got = getJson("/api/commands/" + id);
        assertThat(got.path("status").asText()).isEqualTo("expired");
        int version = (Integer) row.get("version");

        // the expired command holds no lockout: a new one is sent while the display is still away
        String second = createdId(d.uuid(), "{\"action\":\"restart_app\",\"ttl_s\":60}");
        await().atMost(WAIT).until(() -> "published".equals(status(second)));

        // the display comes back: the broker dropped the expired command (message expiry), the new one arrives
        d.connect();
        await().atMost(WAIT).until(() -> d.received(second).isPresent());
        assertThat(d.received(second).orElseThrow().messageExpiryInterval()).isBetween(1L, 60L);
        assertThat(d.received(id)).as("an expired command is never delivered").isEmpty();

        d.ack(id, "completed", "ran it after all");
        await().atMost(WAIT).until(() -> commandEvents(id, "late_ack") == 1);
        assertThat(status(id)).isEqualTo("expired");
        assertThat(commandRow(id).get("version")).isEqualTo(version);
        assertThat(commandRow(id).get("acked_at")).isNull();
        assertThat(commandEvents(id, "command_completed")).isZero();
        assertThat(commandEvents(id, "command_expired")).isEqualTo(1);
    }

    @Test
    void queuedCommandIsPublishedByTheSweep() {
        TestDisplay d = register(TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID()).silent());
        UUID id = UUID.randomUUID();
        // queued but never published, as after a broker outage at creation time (older than the
        // 10 s the sweep leaves to the request that is publishing a new command)
        update("""
                INSERT INTO client_commands (id, client_uuid, action, reason, created_at, expires_at)
                VALUES (?, ?, 'restart_app', 'queued during an outage', now() - interval '15 seconds',
                        now() + interval '60 seconds')""", id, d.uuid());

        await().atMost(WAIT).until(() -> d.received(id.toString()).isPresent());
        await().atMost(WAIT).until(() -> "published".equals(status(id.toString())));
        TestDisplay.Received m = d.received(id.toString()).orElseThrow();
        assertThat(m.payload().path("reason").asText()).isEqualTo("queued during an outage");
        assertThat(m.messageExpiryInterval()).isBetween(1L, 60L);
        assertThat(m.correlationData()).isEqualTo(id.toString());
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(d.timesReceived(id.toString())).as("published once, not every sweep").isEqualTo(1);
            assertThat(commandEvents(id.toString(), "command_published")).isEqualTo(1);
        });
    }

    @Test
    void queuedCommandPastItsExpiryIsExpiredAndNeverPublished() {
        TestDisplay d = register(TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID()).silent());
        UUID id = UUID.randomUUID();
        update("""
                INSERT INTO client_commands (id, client_uuid, action, created_at, expires_at)
                VALUES (?, ?, 'reboot_host', now() - interval '10 minutes', now() - interval '1 second')""", id, d.uuid());

        await().atMost(WAIT).until(() -> "expired".equals(status(id.toString())));
        assertThat((String) commandRow(id.toString()).get("detail")).contains("expired in status queued");
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(d.received()).isEmpty();
            assertThat(commandEvents(id.toString(), "command_expired")).isEqualTo(1);
        });
        assertThat(commandEvents(id.toString(), "command_published")).isZero();
    }

    @Test
    void serviceRestartLeavesNoCommandStuckAnAckSentMeanwhileCompletesOneTheOtherExpires() throws Exception {
        TestDisplay answers = register(TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID()).silent());
        TestDisplay away = register(TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID()).silent());
        String toComplete = createdId(answers.uuid(), "{\"action\":\"restart_app\",\"ttl_s\":60}");
        String toExpire = createdId(away.uuid(), "{\"action\":\"shutdown_host\",\"ttl_s\":10}");
        await().atMost(WAIT).until(() -> answers.received(toComplete).isPresent() && away.received(toExpire).isPresent());
        await().atMost(WAIT).until(() -> "published".equals(status(toComplete)) && "published".equals(status(toExpire)));

        for (String route : SERVICE_ROUTES) {
            context.getRouteController().stopRoute(route);
        }
        try {
            // the display does the work and acks while the service is down
            answers.ack(toComplete, "accepted");
            answers.ack(toComplete, "executing");
            answers.ack(toComplete, "completed");
            // and the other command's expiry passes while nobody sweeps
            Instant expiresAt = instant(commandRow(toExpire).get("expires_at"));
            await().atMost(Duration.ofSeconds(15)).until(() -> databaseNow().isAfter(expiresAt.plusMillis(500)));
            assertThat(status(toComplete)).as("nothing is stored while the service is down").isEqualTo("published");
            assertThat(status(toExpire)).isEqualTo("published");
        } finally {
            for (String route : SERVICE_ROUTES) {
                context.getRouteController().startRoute(route);
            }
        }

        await().atMost(WAIT).until(() -> "completed".equals(status(toComplete)));
        assertThat(commandEventTypes(toComplete)).containsExactly(
                "command_queued", "command_published", "command_accepted", "command_executing", "command_completed");
        await().atMost(WAIT).until(() -> "expired".equals(status(toExpire)));
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                assertThat(commandEvents(toExpire, "command_expired")).isEqualTo(1));
    }

    // ---- helpers -------------------------------------------------------------------------------

    private TestDisplay register(TestDisplay d) {
        displays.add(d);
        d.health("running");
        await().atMost(WAIT).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        return d;
    }

    private Instant databaseNow() {
        return ((Timestamp) scalar("SELECT now()")).toInstant();
    }

    private static Instant instant(Object value) {
        return value == null ? null : ((Timestamp) value).toInstant();
    }
}
