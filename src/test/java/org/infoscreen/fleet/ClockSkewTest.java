package org.infoscreen.fleet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
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
 * Displays whose clocks are hours ahead or behind (or never set): liveness runs on the server's
 * receive time only. Beating displays stay online whatever their {@code ts} says; a silent one is
 * stale after {@code HEARTBEAT_STALE_AFTER} (4 s here) of server time, neither earlier (clock
 * behind) nor later (clock ahead); its recovery reports the downtime in server seconds; a
 * service_failed or ack with a skewed {@code ts} is stored at server time.
 */
class ClockSkewTest extends FleetTestSupport {

    private static final int STALE_AFTER_S = 4;

    private final ScheduledExecutorService clock = Executors.newScheduledThreadPool(1);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.liveness.stale-after-s", String.valueOf(STALE_AFTER_S));
        return p;
    }

    @AfterAll
    void stopClock() {
        clock.shutdownNow();
    }

    @Test
    void skewedDeviceClocksDoNotChangeLiveness() {
        Map<String, Duration> skews = new LinkedHashMap<>();
        skews.put("5 hours ahead", Duration.ofHours(5));
        skews.put("5 hours behind", Duration.ofHours(-5));
        skews.put("3 days behind", Duration.ofDays(-3));
        skews.put("40 years ahead", Duration.ofDays(365L * 40));
        Map<String, UUID> displays = new LinkedHashMap<>();
        skews.keySet().forEach(k -> displays.put(k, UUID.randomUUID()));
        UUID unset = UUID.randomUUID(); // a clock that was never set: 1970
        UUID silentAhead = displays.get("5 hours ahead");
        UUID silentBehind = displays.get("5 hours behind");

        Map<UUID, Boolean> beating = new java.util.concurrent.ConcurrentHashMap<>();
        displays.values().forEach(u -> beating.put(u, true));
        beating.put(unset, true);
        ScheduledFuture<?> beats = clock.scheduleAtFixedRate(() -> {
            Instant now = Instant.now();
            skews.forEach((k, skew) -> {
                UUID u = displays.get(k);
                if (beating.get(u)) {
                    publish(u, "heartbeat", "{\"process_status\":\"running\",\"ts\":\"" + now.plus(skew).truncatedTo(ChronoUnit.MILLIS) + "\"}");
                }
            });
            if (beating.get(unset)) {
                publish(unset, "heartbeat", "{\"process_status\":\"running\",\"ts\":\"1970-01-01T00:00:07Z\"}");
            }
        }, 0, 500, TimeUnit.MILLISECONDS);

        // beyond the start-up grace every beating display is online, whatever its clock says
        await().atMost(Duration.ofSeconds(20)).until(() -> Duration.between(startedAt(), Instant.now()).toSeconds() > STALE_AFTER_S + 2);
        List<UUID> all = new java.util.ArrayList<>(displays.values());
        all.add(unset);
        for (UUID u : all) {
            Map<String, Object> row = query("SELECT liveness_state, last_alive_at, last_device_ts FROM clients WHERE uuid = ?", u).get(0);
            assertThat(row.get("liveness_state")).as("display %s", u).isEqualTo("online");
            assertThat(((Timestamp) row.get("last_alive_at")).toInstant()).isBetween(Instant.now().minusSeconds(2), Instant.now().plusSeconds(1));
            assertThat(events(u, "stale_detected")).isZero();
        }
        Instant ahead = ((Timestamp) scalar("SELECT last_device_ts FROM clients WHERE uuid = ?", silentAhead)).toInstant();
        assertThat(Duration.between(Instant.now(), ahead).toHours()).as("the skewed ts is kept beside the server time").isBetween(4L, 5L);

        // two skewed displays go silent: stale after STALE_AFTER_S of server time
        beating.put(silentAhead, false);
        beating.put(silentBehind, false);
        Instant lastBeat = Instant.now();
        await().atMost(Duration.ofSeconds(STALE_AFTER_S + 5)).until(() ->
                "stale".equals(liveness(silentAhead)) && "stale".equals(liveness(silentBehind)));
        for (UUID u : List.of(silentAhead, silentBehind)) {
            Instant lastAlive = ((Timestamp) scalar("SELECT last_alive_at FROM clients WHERE uuid = ?", u)).toInstant();
            Instant detected = ((Timestamp) scalar("SELECT liveness_since FROM clients WHERE uuid = ?", u)).toInstant();
            assertThat(Duration.between(lastAlive, detected)).as("stale after server seconds")
                    .isGreaterThanOrEqualTo(Duration.ofSeconds(STALE_AFTER_S)).isLessThan(Duration.ofSeconds(STALE_AFTER_S + 3));
            assertThat(lastAlive).isBefore(lastBeat.plusSeconds(1));
        }
        for (UUID u : all) {
            if (!u.equals(silentAhead) && !u.equals(silentBehind)) {
                assertThat(liveness(u)).isEqualTo("online");
            }
        }

        // back: recovered, with the downtime (from the stale detection) in server seconds, not hours
        beating.put(silentAhead, true);
        beating.put(silentBehind, true);
        await().atMost(Duration.ofSeconds(10)).until(() ->
                "online".equals(liveness(silentAhead)) && "online".equals(liveness(silentBehind)));
        for (UUID u : List.of(silentAhead, silentBehind)) {
            Object downtime = scalar("SELECT CAST(detail ->> 'downtime_s' AS integer) FROM client_events WHERE client_uuid = ? AND type = 'recovered'", u);
            assertThat(((Number) downtime).intValue()).isBetween(0, 10);
        }

        // a service_failed and an ack with a skewed ts are stored at server time
        UUID failing = displays.get("3 days behind");
        Instant before = Instant.now();
        publish(failing, "service_failed", "{\"unit\":\"player.service\",\"event_id\":\"skew-1\",\"ts\":\"" + before.minus(Duration.ofDays(3)) + "\"}");
        await().atMost(Duration.ofSeconds(10)).until(() -> events(failing, "service_failed") == 1);
        Instant failedAt = ((Timestamp) scalar("SELECT service_failed_at FROM clients WHERE uuid = ?", failing)).toInstant();
        assertThat(failedAt).isBetween(before.minusSeconds(1), Instant.now().plusSeconds(1));
        String id = createdId(failing, "{\"action\":\"restart_app\"}");
        publish(failing, "commands/ack", "{\"command_id\":\"" + id + "\",\"status\":\"completed\",\"ts\":\"2099-01-01T00:00:00Z\"}");
        await().atMost(Duration.ofSeconds(10)).until(() -> "completed".equals(status(id)));
        Instant finished = ((Timestamp) commandRow(id).get("finished_at")).toInstant();
        assertThat(finished).isBetween(before.minusSeconds(1), Instant.now().plusSeconds(1));
        beats.cancel(false);
    }

    private Instant startedAt() {
        return context.getRegistry().lookupByNameAndType("serviceClock", org.infoscreen.fleet.support.ServiceClock.class)
                .startedAt().toInstant();
    }

    private String liveness(UUID u) {
        return (String) scalar("SELECT liveness_state FROM clients WHERE uuid = ?", u);
    }
}
