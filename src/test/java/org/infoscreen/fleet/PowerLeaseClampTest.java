package org.infoscreen.fleet;

import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A POWER_LOCK_LEASE_S that does not outlast one driver call with all its retries would let the
 * resume sweep take over a live power operation (issue #4): it is raised at start-up with one WARN.
 */
class PowerLeaseClampTest extends FleetTestSupport {

    private static final LogCapture LOG = LogCapture.start();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.power.lock-lease-s", "5");
        p.setProperty("fleet.power.retry-attempts", "3");
        p.setProperty("fleet.power.retry-delay-ms", "1000");
        p.setProperty("fleet.power.http-connect-timeout-ms", "3000");
        p.setProperty("fleet.power.http-timeout-ms", "10000");
        p.setProperty("fleet.power.verify-interval-ms", "1000");
        return p;
    }

    @Test
    void aLeaseShorterThanTheLongestStepIsRaisedWithOneWarning() {
        // one call with 3 retries: 4 x 13 s + 1 + 2 + 4 s backoff, + 1 s verify interval = 60 s; + 30 s margin
        assertThat(context.resolvePropertyPlaceholders("{{fleet.power.lock-lease-s}}")).isEqualTo("90");
        String text = LOG.text();
        assertThat(text).contains("POWER_LOCK_LEASE_S=5 does not outlast the longest power step (60 s");
        assertThat(text.split("POWER_LOCK_LEASE_S=5 does not outlast", -1)).as("one WARN").hasSize(2);
    }
}
