package org.infoscreen.fleet;

import org.infoscreen.fleet.support.ServiceClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * No false alarms after our own restart: the sweep declares nothing stale until the service has
 * been up for one full stale-after period (8 s here), even for a client silent for an hour.
 * The grace counts from the service clock's start, which is taken while the context is being
 * configured (about 1.3 s before the first test runs on this machine, 2 to 5 s when the machine
 * is busy: the routes after the ingest still start, the clustered Quartz scheduler among them).
 */
class StartupGraceTest extends FleetTestSupport {

    private static final int STALE_AFTER_S = 8;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.liveness.stale-after-s", String.valueOf(STALE_AFTER_S));
        return p;
    }

    @Test
    void clientSilentForAnHourStaysOnlineDuringTheStartupGraceThenBecomesStale() {
        UUID silent = UUID.randomUUID();
        UUID crashed = UUID.randomUUID();
        update("""
                INSERT INTO clients (uuid, hostname, first_seen_at, last_alive_at, liveness_state)
                VALUES (?, 'silent-for-an-hour', now() - interval '1 day', now() - interval '1 hour', 'online')""", silent);
        // the sweep does run during the grace: a crash reported after our start is detected at once
        update("""
                INSERT INTO clients (uuid, hostname, last_alive_at, process_status, liveness_state)
                VALUES (?, 'crashed-just-now', now(), 'crashed', 'online')""", crashed);
        OffsetDateTime startedAt = context.getRegistry().lookupByNameAndType("serviceClock", ServiceClock.class).startedAt();
        Duration sinceStart = Duration.between(startedAt, OffsetDateTime.now());
        Duration window = Duration.ofMillis(2500);
        assertThat(sinceStart.plus(window).plusMillis(500))
                .as("rows inserted early enough in the start-up grace (%s after start)", sinceStart)
                .isLessThan(Duration.ofSeconds(STALE_AFTER_S));

        await().atMost(Duration.ofSeconds(2)).until(() -> "crashed".equals(state(crashed)));
        await().during(window).atMost(window.plusSeconds(1)).untilAsserted(() -> {
            assertThat(state(silent)).isEqualTo("online");
            assertThat(events(silent, "stale_detected")).isZero();
        });

        await().atMost(Duration.ofSeconds(STALE_AFTER_S + 2)).until(() -> "stale".equals(state(silent)));
        Duration detectedAfter = Duration.between(startedAt, OffsetDateTime.now());
        assertThat(detectedAfter).isGreaterThanOrEqualTo(Duration.ofSeconds(STALE_AFTER_S));
        await().during(Duration.ofMillis(1000)).atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                assertThat(events(silent, "stale_detected")).isEqualTo(1));
    }

    private String state(UUID uuid) {
        return (String) scalar("SELECT liveness_state FROM clients WHERE uuid = ?", uuid);
    }
}
