package org.infoscreen.fleet.mqtt;

import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.infoscreen.fleet.tls.PemTls;
import org.infoscreen.fleet.tls.TlsFileException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * How the service logs in to its broker: user name, password and TLS (CA validation, optional
 * client certificate for mutual TLS, host name verification). {@link #apply} is called for every
 * connection attempt, also every reconnect, and reads the password ({@code MQTT_PASSWORD_FILE})
 * and the PEM files again, so a rotated password or certificate is used from the next reconnect
 * on without a restart.
 *
 * <p>{@code insecure} follows Paho's and mosquitto's {@code tls_insecure}: the broker's host
 * name is not checked against its certificate; the chain is still validated against the CA.
 */
public final class MqttSecurity {

    private final String user;
    private final Supplier<String> password;
    private final boolean tls;
    private final Path caCert;
    private final Path certFile;
    private final Path keyFile;
    private final boolean insecure;

    /**
     * @param user     broker user name, or {@code null}/empty for none
     * @param password source of the password, asked on every connection attempt; may answer {@code null}
     * @param tls      whether to connect with TLS
     * @param caCert   PEM file of the trusted CA(s), or {@code null} for the JVM trust store
     * @param certFile client certificate (PEM) for mutual TLS, or {@code null}
     * @param keyFile  its private key (PEM: PKCS#8, PKCS#1, SEC1), or {@code null}
     * @param insecure {@code true} to skip the host name check (never in production)
     */
    public MqttSecurity(String user, Supplier<String> password, boolean tls, Path caCert, Path certFile, Path keyFile,
                        boolean insecure) {
        this.user = user == null || user.isBlank() ? null : user;
        this.password = password;
        this.tls = tls;
        this.caCert = caCert;
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.insecure = insecure;
    }

    /** @return whether connections use TLS */
    public boolean tls() {
        return tls;
    }

    /** @return whether the broker's host name is not verified ({@code MQTT_TLS_INSECURE=true}) */
    public boolean insecure() {
        return tls && insecure;
    }

    /** @return the configured CA file, or {@code null} */
    public Path caCert() {
        return caCert;
    }

    /** @return the configured client certificate file, or {@code null} */
    public Path certFile() {
        return certFile;
    }

    /** @return the configured client key file, or {@code null} */
    public Path keyFile() {
        return keyFile;
    }

    /**
     * Fails fast on settings that can never work: a client certificate without its key, a
     * configured CA, certificate or key file that is missing, unreadable or not PEM of the right
     * kind (the files are read once here; {@link #apply} reads them again for every connection).
     *
     * @throws IllegalStateException with a message naming the setting and the file (never its content)
     */
    public void validate() {
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalStateException("mutual TLS needs both MQTT_TLS_CERTFILE and MQTT_TLS_KEYFILE (only one is set)");
        }
        if (!tls && (caCert != null || certFile != null)) {
            throw new IllegalStateException("MQTT_TLS_CA_CERT / MQTT_TLS_CERTFILE are set but TLS is off: "
                    + "set MQTT_TLS_ENABLED=true (or use an ssl:// MQTT_URL)");
        }
        if (tls) {
            requireReadable("MQTT_TLS_CA_CERT", caCert);
            requireReadable("MQTT_TLS_CERTFILE", certFile);
            requireReadable("MQTT_TLS_KEYFILE", keyFile);
            try {
                PemTls.context(PemTls.trustManager(caCert), PemTls.keyManagers(certFile, keyFile));
            } catch (TlsFileException e) {
                throw new IllegalStateException("MQTT TLS files cannot be used: " + e.getMessage());
            }
        }
    }

    /** A configured file that is missing or unreadable can never work: fail at start, naming the setting. */
    private static void requireReadable(String setting, Path file) {
        if (file == null) {
            return;
        }
        if (!java.nio.file.Files.exists(file)) {
            throw new IllegalStateException(setting + " names " + file + ", which does not exist");
        }
        if (!java.nio.file.Files.isRegularFile(file) || !java.nio.file.Files.isReadable(file)) {
            throw new IllegalStateException(setting + " names " + file + ", which is not a file this service may read "
                    + "(check its owner and mode; the service runs as user " + System.getProperty("user.name") + ")");
        }
    }

    /**
     * Sets user name, password and (with TLS) a socket factory built from the current files and the
     * host name verification on the options of one connection attempt.
     *
     * @param options the options of the next connect
     * @throws TlsFileException      when a TLS file cannot be read or does not fit
     * @throws MqttSettingsException when the password cannot be read ({@code MQTT_PASSWORD_FILE} missing or unreadable)
     */
    public void apply(MqttConnectionOptions options) throws TlsFileException, MqttSettingsException {
        if (user != null) {
            options.setUserName(user);
        }
        String secret;
        try {
            secret = password.get();
        } catch (java.io.UncheckedIOException e) {
            throw new MqttSettingsException(e.getMessage(), e.getCause());
        }
        if (secret != null && !secret.isEmpty()) {
            options.setPassword(secret.getBytes(StandardCharsets.UTF_8));
        }
        if (tls) {
            options.setSocketFactory(PemTls.context(PemTls.trustManager(caCert), PemTls.keyManagers(certFile, keyFile))
                    .getSocketFactory());
            options.setHttpsHostnameVerificationEnabled(!insecure);
        }
    }

    /**
     * The URL the client dials: with TLS a {@code tcp://} or {@code mqtt://} URL becomes
     * {@code ssl://} on the same host and port, so {@code MQTT_TLS_ENABLED=true} with the URL of
     * port 8883 is enough.
     *
     * @param url the configured MQTT_URL
     * @param tls whether TLS is on
     * @return the URL for Paho
     */
    public static String brokerUrl(String url, boolean tls) {
        if (tls) {
            for (String plain : new String[] {"tcp://", "mqtt://"}) {
                if (url.startsWith(plain)) {
                    return "ssl://" + url.substring(plain.length());
                }
            }
        }
        return url.startsWith("mqtts://") ? "ssl://" + url.substring("mqtts://".length()) : url;
    }

    /** @return whether a URL asks for TLS by its scheme ({@code ssl://} or {@code mqtts://}) */
    public static boolean tlsScheme(String url) {
        return url.startsWith("ssl://") || url.startsWith("mqtts://");
    }
}
