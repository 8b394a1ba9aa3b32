package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The liveness sweep (every 300 ms here) with small thresholds: stale after 2 s of silence,
 * offline 1 s after an unanswered last will. Each transition is written once, not once per sweep.
 */
class LivenessTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ScheduledExecutorService beats = Executors.newScheduledThreadPool(2);
    private final List<ScheduledFuture<?>> beating = new ArrayList<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.liveness.stale-after-s", "2");
        p.setProperty("fleet.liveness.offline-grace-s", "1");
        return p;
    }

    @AfterEach
    void stopBeating() {
        beating.forEach(f -> f.cancel(false));
        beating.clear();
    }

    @AfterAll
    void stopBeatScheduler() {
        beats.shutdownNow();
    }

    @Test
    void silentClientBecomesStaleOnceThenRecoversOnceWithDowntime() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));

        await().atMost(WAIT).until(() -> "stale".equals(state(uuid)));
        // several sweeps later: still stale, still exactly one event
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(state(uuid)).isEqualTo("stale");
            assertThat(events(uuid, "stale_detected")).isEqualTo(1);
        });

        JsonNode crashed = findClient(getJson("/api/clients/crashed"), uuid);
        assertThat(crashed).as("stale client listed in /api/clients/crashed").isNotNull();
        assertThat(crashed.path("liveness_state").asText()).isEqualTo("stale");
        assertThat(crashed.path("downtime_s").isIntegralNumber()).as("downtime_s: %s", crashed).isTrue();
        assertThat(crashed.path("downtime_s").asLong()).isGreaterThanOrEqualTo(1);

        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));
        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
            assertThat(events(uuid, "recovered")).isEqualTo(1);
            assertThat(events(uuid, "stale_detected")).isEqualTo(1);
        });
        Map<String, Object> recovered = eventDetail(uuid, "recovered");
        assertThat(recovered).containsEntry("from", "stale");
        assertThat(Long.parseLong((String) recovered.get("downtime_s"))).isGreaterThanOrEqualTo(1);
        assertThat(findClient(getJson("/api/clients/crashed"), uuid)).as("no longer listed once online").isNull();
        assertThat(scalar("SELECT down_since FROM clients WHERE uuid = ?", uuid)).isNull();
    }

    @Test
    void crashedProcessIsDetectedOnceAndRecoversWhenRunningAgain() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"process_status\":\"running\",\"hostname\":\"crashy\"}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));
        keepBeating(uuid); // the device stays reachable: only its app crashed

        publish(uuid, "health", "{\"process_status\":\"crashed\"}");
        await().atMost(WAIT).until(() -> "crashed".equals(state(uuid)));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(state(uuid)).isEqualTo("crashed");
            assertThat(events(uuid, "crash_detected")).isEqualTo(1);
        });
        JsonNode listed = findClient(getJson("/api/clients/crashed"), uuid);
        assertThat(listed).isNotNull();
        assertThat(listed.path("liveness_state").asText()).isEqualTo("crashed");
        assertThat(listed.path("process_status").asText()).isEqualTo("crashed");
        assertThat(listed.path("downtime_s").asLong()).isGreaterThanOrEqualTo(1);

        publish(uuid, "health", "{\"process_status\":\"running\"}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));
        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
            assertThat(events(uuid, "recovered")).isEqualTo(1);
            assertThat(events(uuid, "crash_detected")).isEqualTo(1);
        });
        Map<String, Object> recovered = eventDetail(uuid, "recovered");
        assertThat(recovered).containsEntry("from", "crashed");
        assertThat(Long.parseLong((String) recovered.get("downtime_s"))).isGreaterThanOrEqualTo(1);
        assertThat(events(uuid, "stale_detected")).isZero();
    }

    @Test
    void lastWillWithoutFollowUpBecomesOfflineOnce() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));

        publish(uuid, "status", "{\"state\":\"offline\"}");
        await().atMost(WAIT).until(() -> "offline".equals(state(uuid)));
        await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(state(uuid)).as("offline, and not turned stale by the silence").isEqualTo("offline");
            assertThat(events(uuid, "offline_detected")).isEqualTo(1);
        });
        assertThat(events(uuid, "stale_detected")).isZero();

        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));
        await().atMost(WAIT).untilAsserted(() -> assertThat(events(uuid, "recovered")).isEqualTo(1));
        assertThat(eventDetail(uuid, "recovered")).containsEntry("from", "offline");
    }

    @Test
    void lastWillFollowedWithinTheGraceByAHeartbeatIsNeverOffline() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));
        Instant onlineSince = instant(scalar("SELECT connection_state_since FROM clients WHERE uuid = ?", uuid));

        publish(uuid, "status", "{\"state\":\"offline\"}");
        publish(uuid, "heartbeat", "{}"); // the device reconnected at once
        keepBeating(uuid);
        // the last will was seen (the connection state restarted), yet it was a reconnect, not an outage
        await().atMost(WAIT).untilAsserted(() -> assertThat(
                instant(scalar("SELECT connection_state_since FROM clients WHERE uuid = ?", uuid))).isAfter(onlineSince));
        await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(state(uuid)).isEqualTo("online");
            assertThat(events(uuid, "offline_detected")).isZero();
        });
        assertThat(scalar("SELECT connection_state FROM clients WHERE uuid = ?", uuid)).isEqualTo("online");
        assertThat(events(uuid, "recovered")).isZero();
    }

    @Test
    void regularHeartbeatsNeverRaiseAnAlarm() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        keepBeating(uuid);
        await().atMost(WAIT).until(() -> "online".equals(state(uuid)));
        await().during(Duration.ofMillis(3000)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(state(uuid)).isEqualTo("online");
            assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type <> 'client_registered'", uuid))
                    .isEqualTo(0L);
        });
    }

    @Test
    void clientInsertedAtRunTimeIsSweptLikeTheOthers() {
        UUID uuid = UUID.randomUUID();
        update("""
                INSERT INTO clients (uuid, hostname, first_seen_at, last_alive_at, liveness_state)
                VALUES (?, 'inserted-by-sql', now() - interval '2 hours', now() - interval '1 hour', 'online')""", uuid);
        await().atMost(WAIT).until(() -> "stale".equals(state(uuid)));
        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                assertThat(events(uuid, "stale_detected")).isEqualTo(1));
        assertThat(findClient(getJson("/api/clients/crashed"), uuid)).isNotNull();
    }

    // ---- helpers -------------------------------------------------------------------------

    private String state(UUID uuid) {
        return (String) scalar("SELECT liveness_state FROM clients WHERE uuid = ?", uuid);
    }

    /** Publishes a heartbeat for {@code uuid} every 500 ms until the end of the test. */
    private void keepBeating(UUID uuid) {
        beating.add(beats.scheduleAtFixedRate(() -> publish(uuid, "heartbeat", "{}"), 0, 500, TimeUnit.MILLISECONDS));
    }

    /** @return the detail of the newest event of a type, values as text */
    private Map<String, Object> eventDetail(UUID uuid, String type) {
        return query("""
                SELECT d.key, d.value FROM (SELECT detail FROM client_events WHERE client_uuid = ? AND type = ?
                                            ORDER BY id DESC LIMIT 1) e, jsonb_each_text(e.detail) d""", uuid, type)
                .stream().collect(java.util.stream.Collectors.toMap(r -> (String) r.get("key"), r -> (Object) r.get("value")));
    }

    private static JsonNode findClient(JsonNode list, UUID uuid) {
        for (JsonNode c : list.path("clients")) {
            if (uuid.toString().equals(c.path("uuid").asText())) {
                return c;
            }
        }
        return null;
    }

    private static Instant instant(Object value) {
        return value == null ? null : ((Timestamp) value).toInstant();
    }
}
