package org.infoscreen.fleet.support;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;

/**
 * Server time for the routes: the receive time stamped on each device message, and the start
 * time of this service instance that the liveness sweep uses for its start-up grace.
 */
public class ServiceClock {

    private volatile OffsetDateTime startedAt = now();
    private volatile boolean ingestStarted;

    /**
     * Restarts the start-up grace when the MQTT ingest first starts receiving: until then nothing
     * reached us, so silence proves nothing (the broker may have been down at start-up).
     */
    public void ingestStarted() {
        if (!ingestStarted) {
            ingestStarted = true;
            startedAt = now();
        }
    }

    /** @return the current time in UTC */
    public OffsetDateTime now() {
        return Instant.now().atOffset(ZoneOffset.UTC);
    }

    /** @return when this service instance started (UTC) */
    public OffsetDateTime startedAt() {
        return startedAt;
    }

    /**
     * Named parameters of the liveness sweep statement.
     *
     * @param staleAfterS   seconds without a device message after which a client is stale
     * @param offlineGraceS seconds a last will must stand unanswered before a client is offline
     * @return {@code now}, {@code started_at}, {@code stale_after_s}, {@code offline_grace_s},
     *         {@code stale_enabled} (false until this instance has been up for {@code staleAfterS})
     */
    public Map<String, Object> sweepParameters(int staleAfterS, int offlineGraceS) {
        OffsetDateTime now = now();
        return Map.of(
                "now", now,
                "started_at", startedAt,
                "stale_after_s", staleAfterS,
                "offline_grace_s", offlineGraceS,
                "stale_enabled", !now.isBefore(startedAt.plusSeconds(staleAfterS)));
    }
}
