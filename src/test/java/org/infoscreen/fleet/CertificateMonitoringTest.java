package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * Certificate monitoring against the hardened mosquitto over TLS: the broker presents a
 * certificate that expires in 10 days, the configured client certificate has expired, the CA
 * file is fine. The gauges show days to expiry and notAfter per source, the health check
 * {@code fleet-tls-certificates} fails while a certificate is expired and warns while one expires
 * within 30 days, and every threshold crossing is written once as a fleet event, also when a
 * certificate is renewed. The certificate files are replaced while the service runs (the check
 * reads them every 500 ms here).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CertificateMonitoringTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private MosquittoProcess broker;
    private Path dir;
    private X509Certificate expiredClient;
    private KeyPair clientKey;

    @Override
    protected synchronized String mqttUrl() {
        if (broker == null) {
            broker = MosquittoProcess.start(new MosquittoProcess.Options().topicPrefix(topicPrefix()).serverDays(10));
            try {
                dir = Files.createTempDirectory("fleet-cert-monitor");
                Files.copy(broker.caCert(), dir.resolve("ca.crt"));
                clientKey = TestCertificates.ecKeyPair();
                Instant now = Instant.now();
                expiredClient = TestCertificates.leaf("infoscreen-fleet", clientKey.getPublic(), TestCertificates.Issuer.of(broker.certDir()),
                        now.minus(Duration.ofDays(400)), now.minus(Duration.ofDays(2)), List.of(), List.of());
                TestCertificates.writeCertificates(dir.resolve("client.crt"), expiredClient);
                TestCertificates.writeKey(dir.resolve("client.key"), clientKey.getPrivate());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return broker.tlsUrl();
    }

    @Override
    protected Properties extraProperties() {
        mqttUrl();
        Properties p = broker.serviceProperties(true);
        p.setProperty("fleet.mqtt.tls.ca-cert", dir.resolve("ca.crt").toString());
        // the broker does not ask for client certificates, so an expired one does not stop the connection
        p.setProperty("fleet.mqtt.tls.certfile", dir.resolve("client.crt").toString());
        p.setProperty("fleet.mqtt.tls.keyfile", dir.resolve("client.key").toString());
        p.setProperty("fleet.mqtt.tls.check-interval-ms", "500");
        return p;
    }

    @AfterAll
    void stopBroker() throws IOException {
        if (broker != null) {
            broker.close();
        }
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private long tlsEvents(String type, String source) {
        return ((Number) scalar("SELECT count(*) FROM fleet_events WHERE type = ? AND detail ->> 'source' = ?", type, source)).longValue();
    }

    private double days(String source) {
        return metric("fleet_tls_certificate_expiry_days", "source", source);
    }

    @Test
    @Order(1)
    void gaugesShowDaysToExpiryAndNotAfterPerSource() {
        await().atMost(WAIT).until(() -> !Double.isNaN(days("broker")) && !Double.isNaN(days("client")) && !Double.isNaN(days("ca")));
        assertThat(days("broker")).isBetween(9.9, 10.0);
        assertThat(days("client")).isBetween(-2.01, -1.99);
        assertThat(days("ca")).isGreaterThan(3000);
        assertThat(metric("fleet_tls_certificate_not_after_timestamp_seconds", "source", "client"))
                .isCloseTo(expiredClient.getNotAfter().toInstant().getEpochSecond(), within(0.5));
    }

    @Test
    @Order(2)
    void expiredCertificateFailsHealthAndExpiringOneWarnsOneEventEach() {
        await().atMost(WAIT).until(() -> tlsEvents("tls_certificate_expired", "client") == 1
                && tlsEvents("tls_certificate_expiring", "broker") == 1);
        JsonNode check = healthCheck("fleet-tls-certificates");
        assertThat(check.path("status").asText()).isEqualTo("DOWN");
        assertThat(check.path("message").asText()).contains("client certificate expired").contains("broker certificate expires in 9.");
        assertThat(check.path("data").path("client.state").asText()).isEqualTo("expired");
        assertThat(check.path("data").path("broker.state").asText()).isEqualTo("expiring");
        assertThat(check.path("data").path("ca.state").asText()).isEqualTo("ok");
        assertThat(check.path("data").path("broker.subject").asText()).isEqualTo("CN=mosquitto");

        // the check runs every 500 ms: still one event per crossing, none for the CA
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() ->
                tlsEvents("tls_certificate_expired", "client") == 1 && tlsEvents("tls_certificate_expiring", "broker") == 1);
        assertThat(((Number) scalar("SELECT count(*) FROM fleet_events WHERE detail ->> 'source' = 'ca'")).longValue()).isZero();
        assertThat(scalar("SELECT detail ->> 'fingerprint' FROM fleet_events WHERE type = 'tls_certificate_expiring'")).asString().hasSize(64);
        // the service's connection is unaffected: it does not present a client certificate to this broker
        assertThat(healthCheck("fleet-mqtt").path("status").asText()).isEqualTo("UP");
    }

    @Test
    @Order(3)
    void renewedCertificateIsOneEventAndHealthOnlyWarns() throws Exception {
        Instant now = Instant.now();
        X509Certificate renewed = TestCertificates.leaf("infoscreen-fleet", clientKey.getPublic(), TestCertificates.Issuer.of(broker.certDir()),
                now.minus(Duration.ofMinutes(1)), now.plus(Duration.ofDays(200)), List.of(), List.of());
        TestCertificates.writeCertificates(dir.resolve("client.crt"), renewed);

        await().atMost(WAIT).until(() -> tlsEvents("tls_certificate_renewed", "client") == 1);
        await().atMost(WAIT).untilAsserted(() -> {
            JsonNode check = healthCheck("fleet-tls-certificates");
            assertThat(check.path("status").asText()).isEqualTo("UP");
            assertThat(check.path("message").asText()).startsWith("WARNING:").contains("broker certificate expires in");
        });
        assertThat(days("client")).isBetween(199.9, 200.0);
        assertThat(tlsEvents("tls_certificate_expired", "client")).isEqualTo(1);
    }

    @Test
    @Order(4)
    void caBundleCountsItsFirstExpiringCertificate() throws Exception {
        Instant now = Instant.now();
        TestCertificates.Issuer old = TestCertificates.selfSignedCa("old internal CA", now.minus(Duration.ofDays(3000)),
                now.plus(Duration.ofDays(3)));
        String bundle = Files.readString(broker.caCert());
        TestCertificates.writeCertificates(dir.resolve("old-ca.crt"), old.certificate());
        Files.writeString(dir.resolve("ca.crt"), bundle + Files.readString(dir.resolve("old-ca.crt")));

        await().atMost(WAIT).until(() -> tlsEvents("tls_certificate_expiring", "ca") == 1);
        assertThat(days("ca")).isBetween(2.9, 3.0);
        assertThat(healthCheck("fleet-tls-certificates").path("data").path("ca.subject").asText()).isEqualTo("CN=old internal CA");
    }

    @Test
    @Order(5)
    void unreadableCertificateFileFailsHealthWithoutAnEvent() throws Exception {
        long before = ((Number) scalar("SELECT count(*) FROM fleet_events")).longValue();
        Files.writeString(dir.resolve("client.crt"), "not a certificate");
        await().atMost(WAIT).untilAsserted(() -> {
            JsonNode check = healthCheck("fleet-tls-certificates");
            assertThat(check.path("status").asText()).isEqualTo("DOWN");
            assertThat(check.path("data").path("client.state").asText()).isEqualTo("unavailable");
            assertThat(check.path("message").asText()).contains("MQTT_TLS_CERTFILE");
        });
        assertThat(days("client")).isNaN();
        assertThat(((Number) scalar("SELECT count(*) FROM fleet_events")).longValue()).isEqualTo(before);
    }
}
