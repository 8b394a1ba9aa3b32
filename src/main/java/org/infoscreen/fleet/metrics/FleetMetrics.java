package org.infoscreen.fleet.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import org.infoscreen.fleet.health.MqttIngestMonitor;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service's own Prometheus series besides the counters and timers the routes record
 * (docs/monitoring.md lists them all). Micrometer names map to Prometheus names with base units
 * and {@code _total} for counters, e.g. {@code fleet.mqtt.reconnects} → {@code fleet_mqtt_reconnects_total}.
 *
 * <ul>
 *   <li>{@code fleet_clients{liveness_state}}, {@code fleet_clients_recovery_exhausted},
 *       {@code fleet_clients_service_failed}, {@code fleet_recovery_paused} (0/1) and
 *       {@code fleet_commands{action,origin,status}}: gauges refreshed from the database by the
 *       {@code metrics-fleet-state} route ({@link #fleetState(Map)}, {@link #commands(List)});
 *       the same on every instance.</li>
 *   <li>{@code fleet_mqtt_reconnects_total}, {@code fleet_mqtt_resubscribes_total},
 *       {@code fleet_health_probes_received_total},
 *       {@code fleet_mqtt_consumer_subscribed} (0/1, 0 while disconnected), {@code fleet_mqtt_last_message_age_seconds}:
 *       read from the ingest consumer's {@link MqttIngestMonitor}; per instance. Whether a service
 *       MQTT client is connected is {@code fleet_mqtt_connected{client_id}}
 *       ({@link org.infoscreen.fleet.mqtt.MqttConnectionMonitor}), the one connection gauge.</li>
 * </ul>
 *
 * Also makes the route timers {@code fleet.ingest.latency} and {@code fleet.sweep.duration}
 * Prometheus histograms (buckets from 1 ms to 60 s).
 */
public class FleetMetrics {

    private static final List<String> LIVENESS_STATES = List.of("online", "crashed", "stale", "offline");

    private final MeterRegistry registry;
    private final boolean recoveryEnabled;
    private final Map<String, AtomicLong> clients = new ConcurrentHashMap<>();
    private final AtomicLong recoveryExhausted = new AtomicLong();
    private final AtomicLong serviceFailed = new AtomicLong();
    private final AtomicLong recoveryPaused = new AtomicLong();
    private final Map<Tags, AtomicLong> commands = new ConcurrentHashMap<>();

    /**
     * @param registry     the Prometheus registry served at {@code /observe/metrics}
     * @param monitor      the MQTT ingest consumer's monitor
     * @param recoveryEnabled whether crash auto-recovery is on ({@code fleet_recovery_paused} stays 0 when off)
     */
    public FleetMetrics(MeterRegistry registry, MqttIngestMonitor monitor, boolean recoveryEnabled) {
        this.registry = registry;
        this.recoveryEnabled = recoveryEnabled;
        registry.config().meterFilter(conventions()).meterFilter(histograms());
        preRegister(registry);
        processCpuInSeconds(registry);
        for (String state : LIVENESS_STATES) {
            AtomicLong value = new AtomicLong();
            clients.put(state, value);
            Gauge.builder("fleet.clients", value, AtomicLong::get).tag("liveness_state", state)
                    .description("Displays per liveness state (from the database)").register(registry);
        }
        Gauge.builder("fleet.clients.recovery.exhausted", recoveryExhausted, AtomicLong::get)
                .description("Displays whose crash auto-recovery budget is spent (recovery_exhausted), left to people").register(registry);
        Gauge.builder("fleet.clients.service.failed", serviceFailed, AtomicLong::get)
                .description("Displays with an unacknowledged failed systemd unit").register(registry);
        Gauge.builder("fleet.recovery.paused", recoveryPaused, AtomicLong::get)
                .description("1 while the fleet circuit breaker pauses crash auto-recovery").register(registry);

        FunctionCounter.builder("fleet.mqtt.reconnects", monitor, MqttIngestMonitor::reconnects)
                .description("Reconnects of the MQTT ingest consumer to the broker").register(registry);
        FunctionCounter.builder("fleet.mqtt.resubscribes", monitor, MqttIngestMonitor::resubscribes)
                .description("Subscriptions renewed by the ingest watchdog because nothing arrived").register(registry);
        FunctionCounter.builder("fleet.health.probes.received", monitor, MqttIngestMonitor::probesReceived)
                .description("Self-probes received back by the ingest consumer").register(registry);
        // the connection itself is fleet_mqtt_connected{client_id} of MqttConnectionMonitor (every service client)
        Gauge.builder("fleet.mqtt.consumer.subscribed", monitor, m -> m.isSubscribed() ? 1 : 0)
                .description("1 while the MQTT ingest consumer is connected and holds its subscription").register(registry);
        Gauge.builder("fleet.mqtt.last.message.age", monitor, m -> {
                    Duration s = m.silence();
                    return s == null ? Double.NaN : s.toMillis() / 1000.0;
                }).baseUnit("seconds")
                .description("Seconds since the ingest consumer received a message (self-probes included); NaN while disconnected")
                .register(registry);
    }

    /**
     * Sets the fleet gauges from one row of {@code metrics-fleet-state.sql}.
     *
     * @param row columns {@code online}, {@code crashed}, {@code stale}, {@code offline},
     *            {@code recovery_exhausted}, {@code service_failed}, {@code recovery_paused} (numbers or boolean)
     */
    public void fleetState(Map<String, Object> row) {
        for (String state : LIVENESS_STATES) {
            clients.get(state).set(number(row.get(state)));
        }
        recoveryExhausted.set(number(row.get("recovery_exhausted")));
        serviceFailed.set(number(row.get("service_failed")));
        recoveryPaused.set(recoveryEnabled ? number(row.get("recovery_paused")) : 0);
    }

    /**
     * Sets {@code fleet_commands{action,origin,status}} from the rows of {@code metrics-commands.sql};
     * combinations missing from the rows drop to 0.
     *
     * @param rows columns {@code action}, {@code origin}, {@code status}, {@code count}
     */
    public void commands(List<Map<String, Object>> rows) {
        Set<Tags> seen = new HashSet<>();
        for (Map<String, Object> r : rows) {
            Tags tags = Tags.of("action", String.valueOf(r.get("action")), "origin", String.valueOf(r.get("origin")),
                    "status", String.valueOf(r.get("status")));
            seen.add(tags);
            commands.computeIfAbsent(tags, t -> {
                AtomicLong value = new AtomicLong();
                Gauge.builder("fleet.commands", value, AtomicLong::get).tags(t)
                        .description("Commands in the database per action, origin (manual, crash_recovery) and status").register(registry);
                return value;
            }).set(number(r.get("count")));
        }
        commands.forEach((tags, value) -> {
            if (!seen.contains(tags)) {
                value.set(0);
            }
        });
    }

    private static long number(Object value) {
        if (value instanceof Number n) {
            return n.longValue();
        }
        if (value instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return 0;
    }

    /** HELP text of the fleet series the routes record through Camel's micrometer endpoints (which set none). */
    static final Map<String, String> DESCRIPTIONS = Map.of(
            "fleet.messages.ingested", "Device messages stored, by kind (heartbeat, health, service_failed, status, commands/ack)",
            "fleet.messages.rejected", "Device messages quarantined in rejected_messages, by reason (payload guide)",
            "fleet.ingest.latency", "Time from receiving a device message to its database commit",
            "fleet.sweep.duration", "Duration of one sweep run, by sweep (liveness, recovery, commands)",
            "fleet.recovery.attempts", "Commands issued by the crash auto-recovery, by action",
            "fleet.recovery.outcomes", "Displays the crash auto-recovery gave up on, once each: exhausted (budget spent) or alert (stale, left to people)",
            "fleet.power.operations", "Power driver operations, by driver, operation and result",
            "fleet.api.requests.refused", "REST requests refused by the authentication, by reason");

    /** Reason codes of quarantined messages (docs/MQTT_EVENT_PAYLOAD_GUIDE.md, rejected messages). */
    static final List<String> REJECT_REASONS = List.of("invalid_topic", "payload_too_large", "invalid_encoding", "invalid_json",
            "not_an_object", "invalid_field", "unknown_command", "client_mismatch", "internal_error");
    static final List<String> MESSAGE_KINDS = List.of("heartbeat", "health", "service_failed", "status", "commands/ack");
    static final List<String> RECOVERY_ACTIONS = List.of("restart_app", "reboot_host", "power_cycle");
    static final List<String> REFUSED_REASONS = List.of("missing_token", "invalid_token", "forbidden");

    /**
     * Prometheus conventions for the fleet series: no {@code camelContext} label (camelCase, and
     * the same on every series of one service; Camel's own {@code camel_*} series keep theirs) and
     * a HELP text on every {@code fleet_*} family.
     */
    static MeterFilter conventions() {
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                if (!id.getName().startsWith("fleet.")) {
                    return id;
                }
                List<io.micrometer.core.instrument.Tag> tags = new java.util.ArrayList<>();
                id.getTagsAsIterable().forEach(t -> {
                    if (!"camelContext".equals(t.getKey())) {
                        tags.add(t);
                    }
                });
                String description = id.getDescription() != null ? id.getDescription() : DESCRIPTIONS.get(id.getName());
                return new Meter.Id(id.getName(), Tags.of(tags), id.getBaseUnit(), description, id.getType());
            }
        };
    }

    /**
     * Labelled counters start at 0 for every known label value, so {@code rate()} and
     * {@code increase()} see the first event and an alert on a series finds it before it happens.
     */
    private static void preRegister(MeterRegistry registry) {
        MESSAGE_KINDS.forEach(k -> registry.counter("fleet.messages.ingested", "kind", k));
        REJECT_REASONS.forEach(r -> registry.counter("fleet.messages.rejected", "reason", r));
        RECOVERY_ACTIONS.forEach(a -> registry.counter("fleet.recovery.attempts", "action", a));
        List.of("exhausted", "alert").forEach(o -> registry.counter("fleet.recovery.outcomes", "outcome", o));
        REFUSED_REASONS.forEach(r -> registry.counter("fleet.api.requests.refused", "reason", r));
    }

    /**
     * Micrometer's processor binder reports {@code process.cpu.time} in nanoseconds
     * ({@code process_cpu_time_ns_total}); Prometheus wants base units: it is replaced by the
     * standard {@code process_cpu_seconds_total}.
     */
    private static void processCpuInSeconds(MeterRegistry registry) {
        registry.getMeters().stream().filter(m -> m.getId().getName().equals("process.cpu.time")).toList().forEach(registry::remove);
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                && os.getProcessCpuTime() >= 0) {
            FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9).baseUnit("seconds")
                    .description("CPU time used by the JVM process").register(registry);
        }
        registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
    }

    /** Histogram buckets (SLOs) for the latency timers, 1 ms to 60 s. */
    static MeterFilter histograms() {
        return new MeterFilter() {
            @Override
            public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                if (id.getName().equals("fleet.ingest.latency") || id.getName().equals("fleet.sweep.duration")) {
                    return DistributionStatisticConfig.builder()
                            .serviceLevelObjectives(ms(1), ms(5), ms(10), ms(25), ms(50), ms(100), ms(250), ms(500),
                                    ms(1_000), ms(2_500), ms(5_000), ms(10_000), ms(30_000), ms(60_000))
                            .build().merge(config);
                }
                return config;
            }
        };
    }

    private static double ms(long millis) {
        return Duration.ofMillis(millis).toNanos();
    }
}
