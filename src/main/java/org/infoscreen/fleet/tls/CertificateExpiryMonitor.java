package org.infoscreen.fleet.tls;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Watches the expiry of the TLS certificates the service depends on: the CA file
 * ({@code source=ca}, {@code MQTT_TLS_CA_CERT}), the client certificate ({@code source=client},
 * {@code MQTT_TLS_CERTFILE}) and the certificate the broker presents ({@code source=broker}, read
 * in a TLS handshake with the broker). For a file with several certificates (a CA bundle, a chain)
 * the one that expires first counts.
 *
 * <p>Each {@link #check()} re-reads everything and updates two gauges per source:
 * {@code fleet_tls_certificate_expiry_days{source}} (days until {@code notAfter}, fractional,
 * negative once expired) and {@code fleet_tls_certificate_not_after_timestamp_seconds{source}}
 * (Unix time of {@code notAfter}); both are NaN while a source cannot be read. States:
 * {@code ok}, {@code expiring} (fewer than {@code warnDays} days left), {@code expired},
 * {@code not_yet_valid}, {@code unavailable} (file unreadable or broker unreachable).
 *
 * <p>The broker handshake accepts whatever chain the broker sends, only to read its dates; it
 * sends no data. The service's MQTT connection validates that chain separately.
 */
public final class CertificateExpiryMonitor {

    /** The certificate sources, in report order. */
    public static final List<String> SOURCES = List.of("ca", "client", "broker");

    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

    private final Path caCert;
    private final Path certFile;
    private final Path keyFile;
    private final String brokerHost;
    private final int brokerPort;
    private final int warnDays;
    private final Clock clock;
    private final Map<String, AtomicReference<Map<String, Object>>> last = new LinkedHashMap<>();

    /**
     * @param caCert     CA file, or {@code null} when none is configured
     * @param certFile   client certificate file, or {@code null}
     * @param keyFile    client key (presented in the broker handshake when the broker asks for one), or {@code null}
     * @param brokerHost broker host for the handshake, or {@code null} to skip the broker source
     * @param brokerPort broker TLS port
     * @param warnDays   fewer days left than this is {@code expiring}
     * @param meters     registry of the gauges
     * @param clock      time source (UTC)
     */
    public CertificateExpiryMonitor(Path caCert, Path certFile, Path keyFile, String brokerHost, int brokerPort, int warnDays,
                                    MeterRegistry meters, Clock clock) {
        this.caCert = caCert;
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.brokerHost = brokerHost;
        this.brokerPort = brokerPort;
        this.warnDays = warnDays;
        this.clock = clock;
        for (String source : SOURCES) {
            if (configured(source)) {
                AtomicReference<Map<String, Object>> ref = new AtomicReference<>();
                last.put(source, ref);
                Gauge.builder("fleet.tls.certificate.expiry.days", ref, r -> number(r.get(), "days_left"))
                        .description("Days until the certificate expires (negative: expired); NaN while it cannot be read")
                        .tag("source", source)
                        .register(meters);
                Gauge.builder("fleet.tls.certificate.not.after.timestamp.seconds", ref, r -> number(r.get(), "not_after_epoch_s"))
                        .description("End of the certificate's validity (notAfter), Unix time in seconds")
                        .tag("source", source)
                        .register(meters);
            }
        }
    }

    private boolean configured(String source) {
        return switch (source) {
            case "ca" -> caCert != null;
            case "client" -> certFile != null;
            default -> brokerHost != null;
        };
    }

    private static double number(Map<String, Object> result, String key) {
        return result != null && result.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** @return the warning threshold in days */
    public int warnDays() {
        return warnDays;
    }

    /**
     * Reads every configured source now.
     *
     * @return one result per configured source: {@code source}, {@code state}, and when readable
     *         {@code subject}, {@code not_after} (ISO-8601 UTC), {@code days_left} (fractional days),
     *         {@code not_after_epoch_s}, {@code fingerprint} (SHA-256 of the DER, hex); {@code error}
     *         when unavailable; {@code warn_days}
     */
    public List<Map<String, Object>> check() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map.Entry<String, AtomicReference<Map<String, Object>>> e : last.entrySet()) {
            Map<String, Object> result = checkSource(e.getKey());
            e.getValue().set(result);
            out.add(result);
        }
        return out;
    }

    /** @return the results of the last {@link #check()} (empty before the first one) */
    public List<Map<String, Object>> lastResults() {
        List<Map<String, Object>> out = new ArrayList<>();
        last.values().forEach(r -> {
            if (r.get() != null) {
                out.add(r.get());
            }
        });
        return out;
    }

    /** @return whether any source is configured (TLS is on) */
    public boolean hasSources() {
        return !last.isEmpty();
    }

    private Map<String, Object> checkSource(String source) {
        try {
            List<X509Certificate> certs = switch (source) {
                case "ca" -> PemFiles.certificates(caCert, "MQTT_TLS_CA_CERT");
                case "client" -> PemFiles.certificates(certFile, "MQTT_TLS_CERTFILE");
                default -> brokerChain();
            };
            return evaluate(source, certs);
        } catch (IOException e) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("source", source);
            r.put("state", "unavailable");
            r.put("error", e.getMessage());
            r.put("warn_days", warnDays);
            return r;
        }
    }

    /**
     * Evaluates the certificate of a source that expires first.
     *
     * @param source source name
     * @param certs  its certificates (at least one)
     * @return the result (see {@link #check()})
     */
    Map<String, Object> evaluate(String source, List<X509Certificate> certs) {
        Instant now = clock.instant();
        X509Certificate first = certs.get(0);
        boolean notYetValid = false;
        for (X509Certificate c : certs) {
            if (c.getNotAfter().before(first.getNotAfter())) {
                first = c;
            }
            notYetValid |= c.getNotBefore().toInstant().isAfter(now);
        }
        Instant notAfter = first.getNotAfter().toInstant();
        double daysLeft = Duration.between(now, notAfter).toSeconds() / 86_400.0;
        String state = !notAfter.isAfter(now) ? "expired" : notYetValid ? "not_yet_valid" : daysLeft < warnDays ? "expiring" : "ok";
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("source", source);
        r.put("state", state);
        r.put("subject", first.getSubjectX500Principal().getName());
        r.put("not_after", notAfter.toString());
        r.put("not_after_epoch_s", notAfter.getEpochSecond());
        r.put("days_left", Math.floor(daysLeft * 100) / 100);
        r.put("fingerprint", fingerprint(first));
        r.put("warn_days", warnDays);
        return r;
    }

    private List<X509Certificate> brokerChain() throws IOException {
        AtomicReference<X509Certificate[]> presented = new AtomicReference<>();
        KeyManager[] keyManagers = null;
        try {
            keyManagers = PemTls.keyManagers(certFile, keyFile);
        } catch (TlsFileException e) {
            // without our client certificate the broker's certificate still arrives before it could refuse us
        }
        SSLContext context;
        try {
            context = SSLContext.getInstance("TLS");
            context.init(keyManagers, new TrustManager[] {new RecordingTrustManager(presented)}, new SecureRandom());
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot create a TLS context: " + e.getMessage(), e);
        }
        IOException failure = null;
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket()) {
            socket.connect(new InetSocketAddress(brokerHost, brokerPort), (int) HANDSHAKE_TIMEOUT.toMillis());
            socket.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
            if (!brokerHost.matches("[0-9.]+|.*:.*")) {
                SSLParameters parameters = socket.getSSLParameters();
                parameters.setServerNames(List.of(new SNIHostName(brokerHost)));
                socket.setSSLParameters(parameters);
            }
            socket.startHandshake();
        } catch (IOException e) {
            failure = e;
        }
        X509Certificate[] chain = presented.get();
        if (chain == null || chain.length == 0) {
            throw new IOException("no certificate from the broker at " + brokerHost + ":" + brokerPort
                    + (failure == null ? "" : " (" + failure.getMessage() + ")"), failure);
        }
        return Arrays.asList(chain);
    }

    private static String fingerprint(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            return "";
        }
    }

    /** Accepts any server chain and keeps it: used only to read the dates of the broker's certificate. */
    private static final class RecordingTrustManager extends X509ExtendedTrustManager {
        private final AtomicReference<X509Certificate[]> presented;

        RecordingTrustManager(AtomicReference<X509Certificate[]> presented) {
            this.presented = presented;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
            presented.set(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
            presented.set(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            presented.set(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("client side only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("client side only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("client side only");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
