package org.infoscreen.fleet;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/monitoring.md stays true: its alert rules parse as a Prometheus rule file, and every
 * {@code fleet_*} series they (and the metrics table) name is one the service exposes.
 */
class MonitoringDocTest {

    /** Series exposed by the service (MetricsTest checks their values); histograms as their base name. */
    static final Set<String> EXPOSED = Set.of(
            "fleet_messages_ingested_total", "fleet_messages_rejected_total", "fleet_ingest_latency_seconds",
            "fleet_sweep_duration_seconds", "fleet_clients", "fleet_clients_recovery_exhausted", "fleet_clients_service_failed",
            "fleet_recovery_paused", "fleet_commands", "fleet_recovery_attempts_total", "fleet_recovery_outcomes_total", "fleet_mqtt_reconnects_total",
            "fleet_mqtt_resubscribes_total", "fleet_mqtt_consumer_subscribed",
            "fleet_mqtt_last_message_age_seconds", "fleet_health_probes_received_total",
            // MQTT connection and TLS certificate monitoring (MqttConnectionMonitor, CertificateExpiryMonitor)
            "fleet_mqtt_connected", "fleet_mqtt_connection_failures_total", "fleet_tls_certificate_not_after_timestamp_seconds",
            "fleet_tls_certificate_expiry_days",
            "fleet_api_requests_refused_total",
            // counted by the power-cycle route of the power drivers (issue #4)
            "fleet_power_operations_total");

    private static final Pattern SERIES = Pattern.compile("\\bfleet_[a-z_]+");

    static String doc() throws IOException {
        return Files.readString(Path.of("docs/monitoring.md"));
    }

    /** @return the series a text names, histogram suffixes removed */
    static Set<String> series(String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = SERIES.matcher(text);
        while (m.find()) {
            out.add(m.group().replaceAll("_(bucket|count|sum|max)$", ""));
        }
        return out;
    }

    @Test
    @SuppressWarnings("unchecked")
    void alertRulesParseAndUseOnlyExposedSeries() throws IOException {
        String doc = doc();
        int start = doc.indexOf("```yaml\ngroups:");
        assertThat(start).as("an alert rule block in docs/monitoring.md").isPositive();
        String yaml = doc.substring(start + "```yaml\n".length(), doc.indexOf("```", start + 7));
        Map<String, Object> rules = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(yaml);
        List<Map<String, Object>> groups = (List<Map<String, Object>>) rules.get("groups");
        List<Map<String, Object>> all = (List<Map<String, Object>>) groups.get(0).get("rules");
        assertThat(all).extracting(r -> r.get("alert")).contains("FleetStaleShareHigh", "FleetRecoveryExhausted",
                "FleetCertificateExpiring", "FleetIngestConsumerSilent");
        for (Map<String, Object> rule : all) {
            assertThat(rule).containsKeys("alert", "expr", "labels", "annotations");
            assertThat(EXPOSED).as("series in " + rule.get("alert")).containsAll(series(String.valueOf(rule.get("expr"))));
        }
    }

    /**
     * Rules on series read from the database (the same value on every instance) take max over the
     * instances, never a plain sum (N instances would count everything N times); and the rule block
     * passes {@code promtool check rules} when promtool is installed.
     */
    @Test
    @SuppressWarnings("unchecked")
    void alertRulesAggregateDatabaseGaugesWithMaxAndPassPromtool(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws IOException, InterruptedException {
        String doc = doc();
        int start = doc.indexOf("```yaml\ngroups:");
        String yaml = doc.substring(start + "```yaml\n".length(), doc.indexOf("```", start + 7));
        Map<String, Object> rules = (Map<String, Object>) new Load(LoadSettings.builder().build()).loadFromString(yaml);
        for (Map<String, Object> rule : (List<Map<String, Object>>) ((List<Map<String, Object>>) rules.get("groups")).get(0).get("rules")) {
            String expr = String.valueOf(rule.get("expr"));
            if (expr.matches("(?s).*\\b(fleet_commands|fleet_clients\\w*|fleet_recovery_paused)\\b.*")) {
                assertThat(expr).as(rule.get("alert") + ": a database gauge aggregated over instances with max").contains("max");
                assertThat(expr).as(String.valueOf(rule.get("alert"))).doesNotContainPattern("^sum\\((delta|rate|increase)?\\(?fleet_");
            }
        }
        java.nio.file.Path promtool = java.util.stream.Stream.of(System.getenv("PATH").split(java.io.File.pathSeparator))
                .map(d -> java.nio.file.Path.of(d, "promtool")).filter(java.nio.file.Files::isExecutable).findFirst().orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(promtool != null, "promtool not installed (Debian: prometheus)");
        java.nio.file.Path file = java.nio.file.Files.writeString(dir.resolve("rules.yml"), yaml);
        Process p = new ProcessBuilder(promtool.toString(), "check", "rules", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }

    @Test
    void everySeriesTheDocNamesIsExposed() throws IOException {
        assertThat(EXPOSED).containsAll(series(doc()));
        assertThat(series(doc())).containsAll(EXPOSED);
    }
}
