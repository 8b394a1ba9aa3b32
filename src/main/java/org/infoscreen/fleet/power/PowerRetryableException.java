package org.infoscreen.fleet.power;

/**
 * A power driver failure that may go away on its own: the device is busy, restarting or
 * answered a transient error. The shared power route retries it with backoff
 * ({@code POWER_RETRY_ATTEMPTS}, {@code POWER_RETRY_DELAY_MS}); connection refused and timeouts
 * are treated the same way without a driver having to throw this. The message must never contain
 * a secret.
 */
public class PowerRetryableException extends RuntimeException {

    /** @param message what went wrong, safe to show to operators (no secrets) */
    public PowerRetryableException(String message) {
        super(message);
    }
}
