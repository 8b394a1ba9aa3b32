package org.infoscreen.fleet.mqtt;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * Health check {@code fleet-mqtt} (readiness): the service's own MQTT connections
 * ({@link MqttConnectionMonitor}). DOWN when a wanted connection is not connected and either its
 * last attempt failed for a reason a retry will not cure (refused credentials, a TLS failure, an
 * unreadable certificate file) or it has been disconnected for longer than {@link #GRACE} (a
 * broker restart within the grace stays UP). UP with a {@code WARNING} message when
 * {@code MQTT_TLS_INSECURE=true} (no host name verification). Details per client id:
 * {@code connected}, {@code since}, {@code failures}, {@code last_failure_reason},
 * {@code last_failure_at}, {@code last_failure}; plus {@code tls} and {@code tls_insecure}.
 */
public class MqttConnectionHealthCheck extends AbstractHealthCheck {

    /** How long a connection may be down (reconnecting) before the check turns DOWN. */
    public static final Duration GRACE = Duration.ofSeconds(30);

    private final MqttConnectionMonitor monitor;
    private final MqttSecurity security;
    private final Clock clock;

    /**
     * @param monitor  the connection states
     * @param security the connection settings (for the TLS details and the insecure warning)
     * @param clock    time source
     */
    public MqttConnectionHealthCheck(MqttConnectionMonitor monitor, MqttSecurity security, Clock clock) {
        super("fleet", "fleet-mqtt");
        this.monitor = monitor;
        this.security = security;
        this.clock = clock;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("tls", security.tls());
        builder.detail("tls_insecure", security.insecure());
        StringBuilder problems = new StringBuilder();
        monitor.states().forEach((clientId, s) -> {
            MqttConnectionMonitor.details(s).forEach((k, v) -> builder.detail(clientId + "." + k, v));
            if (!s.active() || s.connected()) {
                return;
            }
            boolean configuration = s.lastFailureReason() != null
                    && MqttConnectionMonitor.CONFIGURATION_REASONS.contains(s.lastFailureReason());
            boolean tooLong = s.since() != null && s.since().plus(GRACE).isBefore(clock.instant());
            if (configuration || tooLong) {
                problems.append(problems.length() == 0 ? "" : "; ").append("MQTT client ").append(clientId)
                        .append(" not connected since ").append(s.since())
                        .append(s.lastFailureReason() == null ? "" : " (last attempt: " + s.lastFailureReason() + ")");
            }
        });
        if (problems.length() > 0) {
            builder.message(problems.toString());
            builder.down();
            return;
        }
        if (security.insecure()) {
            builder.message("WARNING: MQTT_TLS_INSECURE=true: the broker's host name is not verified against its certificate");
        }
        builder.up();
    }
}
