package org.infoscreen.fleet.mqtt;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.impl.DefaultCamelContext;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code fleet-mqtt} health rules, without a broker: grace for outages, none for refused logins. */
class MqttConnectionHealthCheckTest {

    private Instant now = Instant.parse("2026-12-01T12:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final MqttConnectionMonitor monitor = new MqttConnectionMonitor(meters, clock);

    private HealthCheck.Result check(boolean insecure) {
        MqttSecurity security = new MqttSecurity("svc", () -> null, true, null, null, null, insecure);
        MqttConnectionHealthCheck check = new MqttConnectionHealthCheck(monitor, security, clock);
        check.setCamelContext(new DefaultCamelContext());
        return check.call();
    }

    private static MqttException unreachable() {
        return new MqttException(32103, new ConnectException("Connection refused"));
    }

    @Test
    void brokerOutageIsUpWithinTheGraceAndDownAfterIt() {
        monitor.starting("svc-1");
        monitor.connected("svc-1");
        monitor.lost("svc-1");
        monitor.failed("svc-1", unreachable());
        now = now.plus(MqttConnectionHealthCheck.GRACE.minusSeconds(1));
        assertThat(check(false).getState()).isEqualTo(HealthCheck.State.UP);
        now = now.plus(Duration.ofSeconds(2));
        HealthCheck.Result r = check(false);
        assertThat(r.getState()).isEqualTo(HealthCheck.State.DOWN);
        assertThat(r.getMessage()).hasValueSatisfying(m -> assertThat(m).contains("svc-1").contains("unreachable"));
        assertThat(r.getDetails()).containsEntry("svc-1.connected", false).containsEntry("svc-1.failures", 1L);
    }

    @Test
    void refusedLoginIsDownAtOnceAlsoWhenTheFirstConnectFailsAndRetriesDoNotResetTheClock() {
        monitor.starting("svc-1");
        monitor.failed("svc-1", new MqttException(0x87));
        assertThat(check(false).getState()).isEqualTo(HealthCheck.State.DOWN);
        assertThat(meters.get("fleet.mqtt.connection.failures").tag("reason", "auth_refused").counter().count()).isEqualTo(1);

        // the route controller retries the start: an unreachable broker for longer than the grace is DOWN too
        now = now.plus(MqttConnectionHealthCheck.GRACE.plusSeconds(1));
        monitor.starting("svc-1");
        monitor.failed("svc-1", unreachable());
        assertThat(check(false).getState()).isEqualTo(HealthCheck.State.DOWN);
        monitor.connected("svc-1");
        assertThat(check(false).getState()).isEqualTo(HealthCheck.State.UP);
    }

    @Test
    void stoppedConnectionIsNotAProblemAndInsecureTlsWarns() {
        monitor.starting("svc-1");
        monitor.failed("svc-1", new MqttException(0x86));
        monitor.stopped("svc-1");
        HealthCheck.Result r = check(true);
        assertThat(r.getState()).isEqualTo(HealthCheck.State.UP);
        assertThat(r.getMessage()).hasValueSatisfying(m -> assertThat(m).startsWith("WARNING: MQTT_TLS_INSECURE=true"));
        assertThat(r.getDetails()).containsEntry("tls_insecure", true);
    }
}
