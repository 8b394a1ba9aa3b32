package org.infoscreen.fleet.health;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A connected but deaf consumer stays not-receiving across the watchdog's resubscribes: the
 * resubscribe does not reset the silence (readiness, {@code fleet_mqtt_last_message_age_seconds}),
 * only a message that actually arrives does; the watchdog waits a full window between resubscribes.
 */
class MqttIngestMonitorTest {

    /** A clock the test moves. */
    private static final class TestClock extends Clock {
        private Instant now = Instant.parse("2026-12-01T12:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    @Test
    void aResubscribeDoesNotMakeADeafConsumerReadyOnlyAReceivedMessageDoes() {
        TestClock clock = new TestClock();
        MqttIngestMonitor m = new MqttIngestMonitor(clock, "infoscreen", Duration.ofSeconds(30), Duration.ofSeconds(60));
        m.connected(false);
        m.subscribed(true, null);
        m.messageReceived("infoscreen/_service/probe/svc");
        assertThat(m.receiving()).isTrue();

        clock.advance(Duration.ofSeconds(61)); // deaf: nothing arrives
        assertThat(m.receiving()).isFalse();
        assertThat(m.resubscribeDue()).isTrue();
        m.resubscribed();
        assertThat(m.resubscribeDue()).as("a full window before the next resubscribe").isFalse();
        assertThat(m.receiving()).as("still deaf right after the resubscribe").isFalse();
        assertThat(m.silence()).as("the age keeps growing").isEqualTo(Duration.ofSeconds(61));

        for (int i = 0; i < 4; i++) { // deaf for good: the age grows past every window, readiness never UP
            clock.advance(Duration.ofSeconds(30));
            assertThat(m.receiving()).isFalse();
            if (m.resubscribeDue()) {
                m.resubscribed();
            }
        }
        assertThat(m.silence()).isGreaterThan(Duration.ofSeconds(120));
        assertThat(m.resubscribes()).isEqualTo(2);

        m.messageReceived("infoscreen/_service/probe/svc"); // the resubscribe worked: the probe is back
        assertThat(m.receiving()).isTrue();
        assertThat(m.silence()).isZero();
        assertThat(m.resubscribeDue()).isFalse();
    }
}
