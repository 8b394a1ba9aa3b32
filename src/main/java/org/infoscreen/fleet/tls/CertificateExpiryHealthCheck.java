package org.infoscreen.fleet.tls;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.util.List;
import java.util.Map;

/**
 * Health check {@code fleet-tls-certificates} (readiness) over the last
 * {@link CertificateExpiryMonitor#check()}: DOWN when a certificate is expired or not yet valid,
 * or a configured certificate file cannot be read; UP with a {@code WARNING} message when one
 * expires within the threshold ({@code MQTT_TLS_EXPIRY_WARN_DAYS}); UP otherwise. An unreachable
 * broker is only a detail here (the {@code fleet-mqtt} check reports the connection). Details
 * per source: {@code state}, {@code days_left}, {@code not_after}, {@code subject}, {@code error}.
 */
public class CertificateExpiryHealthCheck extends AbstractHealthCheck {

    private final CertificateExpiryMonitor monitor;

    /** @param monitor the certificate monitor whose last results are reported */
    public CertificateExpiryHealthCheck(CertificateExpiryMonitor monitor) {
        super("fleet", "fleet-tls-certificates");
        this.monitor = monitor;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("warn_days", monitor.warnDays());
        List<Map<String, Object>> results = monitor.lastResults();
        StringBuilder down = new StringBuilder();
        StringBuilder warn = new StringBuilder();
        for (Map<String, Object> r : results) {
            String source = (String) r.get("source");
            String state = (String) r.get("state");
            for (String key : List.of("state", "days_left", "not_after", "subject", "error")) {
                if (r.get(key) != null) {
                    builder.detail(source + "." + key, r.get(key));
                }
            }
            switch (state) {
                case "expired", "not_yet_valid" -> append(down, source + " certificate " + state.replace('_', ' ')
                        + " (not after " + r.get("not_after") + ")");
                case "unavailable" -> {
                    if (!"broker".equals(source)) {
                        append(down, source + " certificate cannot be read: " + r.get("error"));
                    }
                }
                case "expiring" -> append(warn, source + " certificate expires in " + r.get("days_left") + " days ("
                        + r.get("not_after") + ")");
                default -> { }
            }
        }
        if (down.length() > 0) {
            builder.message(down + (warn.length() > 0 ? "; " + warn : ""));
            builder.down();
        } else {
            if (warn.length() > 0) {
                builder.message("WARNING: " + warn);
            } else if (results.isEmpty()) {
                builder.message(monitor.hasSources() ? "not checked yet" : "TLS is off: no certificates to watch");
            }
            builder.up();
        }
    }

    private static void append(StringBuilder b, String text) {
        b.append(b.length() == 0 ? "" : "; ").append(text);
    }
}
