package org.infoscreen.fleet.mqtt;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.infoscreen.fleet.tls.TlsFileException;
import org.infoscreen.fleet.tls.TlsTrustException;

import javax.net.ssl.SSLException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * State of the service's own MQTT connections (the ingest consumer and the command producer,
 * keyed by MQTT client id): connected or not since when, and every failed connection attempt
 * with its reason. Failures are counted in {@code fleet_mqtt_connection_failures_total{client_id,reason}},
 * the state in the gauge {@code fleet_mqtt_connected{client_id}} (1/0); the health check
 * {@link MqttConnectionHealthCheck} shows both.
 *
 * <p>Reasons: {@code auth_refused} (CONNACK 0x86 bad user name or password, 0x87 not authorised),
 * {@code tls_untrusted}, {@code tls_certificate_expired}, {@code tls_hostname_mismatch},
 * {@code tls_handshake} (e.g. the broker refused our client certificate), {@code tls_config}
 * (our PEM files), {@code config} (another setting, e.g. an unreadable {@code MQTT_PASSWORD_FILE}), {@code unreachable}, {@code timeout}, {@code refused} (another CONNACK
 * error), {@code other}.
 */
public final class MqttConnectionMonitor {

    /** Every reason code of {@link #failed}: the configuration ones and refused, timeout, unreachable, other. */
    static final java.util.List<String> FAILURE_REASONS = java.util.List.of("auth_refused", "tls_untrusted",
            "tls_certificate_expired", "tls_hostname_mismatch", "tls_handshake", "tls_config", "config", "refused",
            "timeout", "unreachable", "other");

    /** Reasons that a retry will not cure: wrong credentials, certificates or files. */
    public static final java.util.Set<String> CONFIGURATION_REASONS = java.util.Set.of("auth_refused", "tls_untrusted",
            "tls_certificate_expired", "tls_hostname_mismatch", "tls_handshake", "tls_config", "config");

    private final MeterRegistry meters;
    private final Clock clock;
    private final Map<String, State> states = new ConcurrentHashMap<>();

    /**
     * @param meters where the counters and gauges are registered (the registry behind {@code /observe/metrics})
     * @param clock  time source (UTC)
     */
    public MqttConnectionMonitor(MeterRegistry meters, Clock clock) {
        this.meters = meters;
        this.clock = clock;
    }

    /** What is known about one connection. All times UTC; {@code null} when it never happened. */
    public static final class State {
        volatile boolean active;
        volatile boolean connected;
        volatile Instant since;
        volatile Instant lastConnectedAt;
        volatile Instant lastFailureAt;
        volatile String lastFailureReason;
        volatile String lastFailureMessage;
        final java.util.concurrent.atomic.AtomicLong failures = new java.util.concurrent.atomic.AtomicLong();

        /** @return whether the connection is wanted (its route or producer is started) */
        public boolean active() {
            return active;
        }

        /** @return whether it is connected now */
        public boolean connected() {
            return connected;
        }

        /** @return when it was last connected or disconnected */
        public Instant since() {
            return since;
        }

        /** @return reason code of the last failed attempt */
        public String lastFailureReason() {
            return lastFailureReason;
        }

        /** @return time of the last failed attempt */
        public Instant lastFailureAt() {
            return lastFailureAt;
        }

        /** @return message of the last failed attempt (no secrets: Paho and JSSE messages only) */
        public String lastFailureMessage() {
            return lastFailureMessage;
        }

        /** @return failed attempts since start */
        public long failures() {
            return failures.get();
        }
    }

    private State state(String clientId) {
        return states.computeIfAbsent(clientId, id -> {
            State s = new State();
            Gauge.builder("fleet.mqtt.connected", s, st -> st.connected ? 1 : 0)
                    .description("1 while the service's MQTT client is connected to the broker, else 0")
                    .tag("client_id", id)
                    .register(meters);
            // every reason starts at 0 (Prometheus: a counter that appears with its first increment hides it from rate())
            for (String reason : FAILURE_REASONS) {
                failureCounter(id, reason);
            }
            return s;
        });
    }

    /**
     * The connection is wanted from now on (its consumer or producer starts). A start retried
     * after a failed one keeps the time since when it is wanted and not connected.
     */
    public void starting(String clientId) {
        State s = state(clientId);
        if (!s.active) {
            s.active = true;
            s.since = clock.instant();
        }
    }

    /** A connection attempt succeeded. */
    public void connected(String clientId) {
        State s = state(clientId);
        s.active = true;
        s.connected = true;
        s.since = clock.instant();
        s.lastConnectedAt = s.since;
    }

    /** An established connection was lost (broker restart, network, keep-alive timeout). */
    public void lost(String clientId) {
        State s = state(clientId);
        if (s.connected) {
            s.connected = false;
            s.since = clock.instant();
        }
    }

    /**
     * A connection attempt failed: counted with its reason.
     *
     * @return the reason code
     */
    public String failed(String clientId, Throwable error) {
        String reason = classify(error);
        State s = state(clientId);
        s.connected = false;
        s.lastFailureAt = clock.instant();
        s.lastFailureReason = reason;
        s.lastFailureMessage = describe(error);
        s.failures.incrementAndGet();
        failureCounter(clientId, reason).increment();
        return reason;
    }

    private Counter failureCounter(String clientId, String reason) {
        return Counter.builder("fleet.mqtt.connection.failures")
                .description("Failed connection attempts of the service's MQTT clients, by reason")
                .tag("client_id", clientId)
                .tag("reason", reason)
                .register(meters);
    }

    /** The connection is no longer wanted (route or producer stopped). */
    public void stopped(String clientId) {
        State s = state(clientId);
        s.active = false;
        s.connected = false;
        s.since = clock.instant();
    }

    /** @return a copy of the states by client id, in client id order */
    public Map<String, State> states() {
        return new java.util.TreeMap<>(states);
    }

    /**
     * @param error what a connection attempt threw (Paho wraps socket and TLS errors as causes)
     * @return its reason code (see the class description)
     */
    public static String classify(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof TlsTrustException trust) {
                return trust.reason();
            }
            if (t instanceof TlsFileException) {
                return "tls_config";
            }
            if (t instanceof MqttSettingsException) {
                return "config";
            }
        }
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof MqttException m) {
                int code = m.getReasonCode();
                // MQTT 5 CONNACK 0x86 bad user name or password, 0x87 not authorized, 0x8C bad authentication method
                if (code == 0x86 || code == 0x87 || code == 0x8C) {
                    return "auth_refused";
                }
                if (code >= 0x80 && code <= 0xFF) {
                    return "refused";
                }
                if (code == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_CLIENT_TIMEOUT) {
                    return "timeout";
                }
            }
            if (t instanceof SSLException) {
                return "tls_handshake";
            }
            if (t instanceof SocketTimeoutException) {
                return "timeout";
            }
            if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof NoRouteToHostException) {
                return "unreachable";
            }
        }
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof java.io.EOFException || t instanceof java.net.SocketException) {
                return "unreachable";
            }
        }
        return "other";
    }

    /** @return a one-line description of an error and its causes, without stack traces */
    static String describe(Throwable error) {
        StringBuilder b = new StringBuilder();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Throwable t = error; t != null && b.length() < 400; t = t.getCause()) {
            String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (seen.add(m)) {
                b.append(b.length() == 0 ? "" : ": ").append(m);
            }
        }
        return b.length() > 400 ? b.substring(0, 400) : b.toString();
    }

    /** @return the state of one connection for the health check details ({@code null} values left out) */
    static Map<String, Object> details(State s) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("connected", s.connected);
        if (s.since != null) {
            d.put("since", s.since.toString());
        }
        d.put("failures", s.failures.get());
        if (s.lastFailureReason != null) {
            d.put("last_failure_reason", s.lastFailureReason);
            d.put("last_failure_at", s.lastFailureAt.toString());
            d.put("last_failure", s.lastFailureMessage);
        }
        return d;
    }
}
