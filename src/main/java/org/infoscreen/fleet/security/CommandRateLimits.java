package org.infoscreen.fleet.security;

import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.ratelimiter.RateLimiterRegistry;
import org.infoscreen.fleet.rest.ApiException;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * Rate limit of command creation through REST (resilience4j {@link RateLimiter}, fixed window):
 * at most {@code perToken} requests per API token and {@code perClient} requests per client
 * (display) within each {@code periodS} seconds. Every request counts, also one refused later (bad
 * body, lockout). Over the limit: 429 {@code rate_limited} with {@code Retry-After}.
 */
public class CommandRateLimits {

    private static final int MAX_TRACKED = 10_000;

    private final RateLimiterRegistry perToken;
    private final RateLimiterRegistry perClient;
    private final int tokenLimit;
    private final int clientLimit;
    private final int periodS;

    /**
     * @param perToken  requests per token and period; 0 = no limit
     * @param perClient requests per client and period; 0 = no limit
     * @param periodS   period in seconds (at least 1)
     */
    public CommandRateLimits(int perToken, int perClient, int periodS) {
        if (perToken < 0 || perClient < 0 || periodS < 1) {
            throw new IllegalArgumentException("command rate limits must be >= 0 and the period >= 1 s");
        }
        this.tokenLimit = perToken;
        this.clientLimit = perClient;
        this.periodS = periodS;
        this.perToken = perToken == 0 ? null : RateLimiterRegistry.of(config(perToken, periodS));
        this.perClient = perClient == 0 ? null : RateLimiterRegistry.of(config(perClient, periodS));
    }

    private static RateLimiterConfig config(int limit, int periodS) {
        return RateLimiterConfig.custom()
                .limitForPeriod(limit)
                .limitRefreshPeriod(Duration.ofSeconds(periodS))
                .timeoutDuration(Duration.ZERO)
                .build();
    }

    /**
     * Takes one permit for the token and one for the client.
     *
     * @param principal  the token's name ({@code fleetPrincipal})
     * @param clientUuid the client the command is for
     * @throws ApiException 429 {@code rate_limited} with {@code Retry-After} (seconds until the next permit)
     */
    public void acquire(String principal, UUID clientUuid) {
        take(perToken, tokenLimit, "token:" + principal, "API token '" + principal + "'");
        take(perClient, clientLimit, "client:" + clientUuid, "client " + clientUuid);
    }

    private void take(RateLimiterRegistry registry, int limit, String key, String who) {
        if (registry == null) {
            return;
        }
        if (registry.getAllRateLimiters().size() > MAX_TRACKED) {
            forgetIdle(registry, limit);
        }
        RateLimiter limiter = registry.rateLimiter(key);
        if (!limiter.acquirePermission()) {
            long waitNs = limiter.reservePermission(); // -1 with a zero timeout: estimate from the metrics instead
            long nanos = waitNs > 0 ? waitNs : nanosToWait(limiter);
            long retryAfter = Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L);
            throw new ApiException(429, "rate_limited", "more than " + limit + " command requests within " + periodS
                    + " s for " + who + "; retry after " + retryAfter + " s", Map.of("retry_after_s", retryAfter), retryAfter);
        }
    }

    private long nanosToWait(RateLimiter limiter) {
        if (limiter instanceof io.github.resilience4j.ratelimiter.internal.AtomicRateLimiter atomic) {
            return atomic.getDetailedMetrics().getNanosToWait();
        }
        return Duration.ofSeconds(periodS).toNanos();
    }

    /** Keeps memory bounded: limiters whose window is full again carry no state worth keeping. */
    private static void forgetIdle(RateLimiterRegistry registry, int limit) {
        for (RateLimiter r : registry.getAllRateLimiters()) {
            if (r.getMetrics().getAvailablePermissions() >= limit) {
                registry.remove(r.getName());
            }
        }
    }
}
