package org.infoscreen.fleet.simulator;

import java.time.Duration;
import java.util.Locale;

/**
 * Outcome of {@link FleetSimulator#publishAtRate(long, double)}.
 *
 * @param sent         messages published (QoS 1)
 * @param acknowledged of those, acknowledged by the broker
 * @param failed       of those, refused or failed
 * @param elapsed      from the first publish to the last acknowledgement
 * @param targetRate   the rate asked for, messages per second (≤ 0 = unthrottled)
 */
public record LoadResult(long sent, long acknowledged, long failed, Duration elapsed, double targetRate) {

    /** @return acknowledged messages per second over {@link #elapsed()} */
    public double achievedRate() {
        double s = elapsed.toNanos() / 1e9;
        return s <= 0 ? 0 : acknowledged / s;
    }

    /** @return one line for people, e.g. {@code 100000 messages (QoS 1) in 12.31 s: 8123 msg/s acknowledged (target 10000/s), 0 failed} */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%d messages (QoS 1) in %.2f s: %.0f msg/s acknowledged (target %s), %d failed",
                sent, elapsed.toNanos() / 1e9, achievedRate(),
                targetRate <= 0 ? "unthrottled" : String.format(Locale.ROOT, "%.0f/s", targetRate), failed);
    }
}
