package org.infoscreen.fleet.health;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.time.Duration;
import java.util.Map;

/**
 * Readiness check {@code fleet-mqtt-ingest}: DOWN while the MQTT ingest consumer is not connected,
 * has no subscription, or has received nothing (device messages and the service's own
 * self-probes, published every few seconds, both count) for longer than the monitor's
 * {@code maxSilence} — the state of a consumer that silently stopped receiving. Details:
 * {@code connected}, {@code subscribed}, {@code connected_since}, {@code last_message_at},
 * {@code last_message_age_s}, {@code last_probe_at}, {@code max_silence_s}, {@code reconnects},
 * {@code resubscribes}, and {@code problem} (the last connection or subscription problem). Times
 * are ISO-8601 UTC, ages seconds. No broker address or credential is included.
 */
public class MqttIngestHealthCheck extends AbstractHealthCheck {

    private final MqttIngestMonitor monitor;

    /** @param monitor the ingest consumer's monitor */
    public MqttIngestHealthCheck(MqttIngestMonitor monitor) {
        super("fleet", "fleet-mqtt-ingest");
        this.monitor = monitor;
    }

    @Override
    public boolean isLiveness() {
        // a broker outage is not a reason to restart the service: readiness only
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Duration silence = monitor.silence();
        builder.detail("connected", monitor.isConnected());
        builder.detail("subscribed", monitor.isSubscribed());
        detail(builder, "connected_since", monitor.connectedSince());
        detail(builder, "last_message_at", monitor.lastMessageAt());
        detail(builder, "last_probe_at", monitor.lastProbeAt());
        if (silence != null) {
            builder.detail("last_message_age_s", silence.toSeconds());
        }
        builder.detail("max_silence_s", monitor.maxSilence().toSeconds());
        builder.detail("reconnects", monitor.reconnects());
        builder.detail("resubscribes", monitor.resubscribes());
        if (monitor.lastProblem() != null) {
            builder.detail("problem", monitor.lastProblem());
        }
        if (!monitor.isConnected()) {
            builder.message("MQTT ingest consumer is not connected to the broker");
            builder.down();
        } else if (!monitor.isSubscribed()) {
            builder.message("MQTT ingest consumer is connected but not subscribed: it receives nothing");
            builder.down();
        } else if (!monitor.receiving()) {
            builder.message("MQTT ingest consumer received nothing for " + (silence == null ? "?" : silence.toSeconds())
                    + " s (not even the service's self-probe): it has stopped receiving");
            builder.down();
        } else {
            builder.up();
        }
    }

    private static void detail(HealthCheckResultBuilder builder, String key, java.time.Instant value) {
        if (value != null) {
            builder.detail(key, value.toString());
        }
    }
}
