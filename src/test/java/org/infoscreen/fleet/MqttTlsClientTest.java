package org.infoscreen.fleet;

import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.infoscreen.fleet.mqtt.MqttConnectionMonitor;
import org.infoscreen.fleet.mqtt.MqttSecurity;
import org.infoscreen.fleet.tls.TlsFileException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The service's MQTT TLS client settings ({@link MqttSecurity}, as the ingest consumer and the
 * command producer apply them) against real mosquitto TLS listeners of the project's config:
 * CA validation, a wrong CA, host name verification and {@code MQTT_TLS_INSECURE}, an expired
 * broker certificate, and mutual TLS with PEM keys in PKCS#8, PKCS#1 and SEC1 form. Every refusal
 * is checked for the reason the service reports ({@link MqttConnectionMonitor#classify}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MqttTlsClientTest {

    private MosquittoProcess broker;
    private MosquittoProcess mismatched;
    private MosquittoProcess mutual;
    @TempDir
    Path tmp;

    @BeforeAll
    void startBrokers() {
        broker = MosquittoProcess.startProjectConfig();
        // a certificate that names neither 127.0.0.1 nor localhost
        mismatched = MosquittoProcess.start(new MosquittoProcess.Options().serverDns("broker.invalid").serverIps(""));
        mutual = MosquittoProcess.start(new MosquittoProcess.Options().requireCertificate(true));
    }

    @AfterAll
    void stopBrokers() {
        for (MosquittoProcess m : new MosquittoProcess[] {broker, mismatched, mutual}) {
            if (m != null) {
                m.close();
            }
        }
    }

    private static MqttSecurity security(MosquittoProcess b, Path ca, Path cert, Path key, boolean insecure) {
        String pw = b.password(MosquittoProcess.SERVICE_USER);
        return new MqttSecurity(MosquittoProcess.SERVICE_USER, () -> pw, true, ca, cert, key, insecure);
    }

    /** Connects once with the service's settings; @return "connected" or the reason code the service would count */
    private static String connect(String url, MqttSecurity security) throws Exception {
        MqttClient c = new MqttClient(url, "tls-" + UUID.randomUUID(), new MemoryPersistence());
        try {
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setConnectionTimeout(10);
            security.apply(o);
            c.connect(o);
            c.disconnect();
            return "connected";
        } catch (MqttException | TlsFileException | org.infoscreen.fleet.mqtt.MqttSettingsException e) {
            return MqttConnectionMonitor.classify(e);
        } finally {
            c.close(true);
        }
    }

    @Test
    void tlsWithCaValidationAndPasswordConnects() throws Exception {
        assertThat(connect(broker.tlsUrl(), security(broker, broker.caCert(), null, null, false))).isEqualTo("connected");
        assertThat(connect(broker.tlsUrl("localhost"), security(broker, broker.caCert(), null, null, false))).isEqualTo("connected");
    }

    @Test
    void wrongPasswordOverTlsIsReportedAsAuthRefused() throws Exception {
        MqttSecurity wrong = new MqttSecurity(MosquittoProcess.SERVICE_USER, () -> "wrong", true, broker.caCert(), null, null, false);
        assertThat(connect(broker.tlsUrl(), wrong)).isEqualTo("auth_refused");
    }

    @Test
    void brokerCertificateFromAnotherCaIsRefused() throws Exception {
        Path otherCa = tmp.resolve("other-ca.crt");
        Files.copy(mismatched.caCert(), otherCa);
        assertThat(connect(broker.tlsUrl(), security(broker, otherCa, null, null, false))).isEqualTo("tls_untrusted");
        // MQTT_TLS_INSECURE skips only the host name check, never the CA
        assertThat(connect(broker.tlsUrl(), security(broker, otherCa, null, null, true))).isEqualTo("tls_untrusted");
    }

    @Test
    void withoutCaFileTheJvmTrustStoreRefusesAnInternalCa() throws Exception {
        assertThat(connect(broker.tlsUrl(), security(broker, null, null, null, false))).isEqualTo("tls_untrusted");
    }

    @Test
    void hostNameMismatchIsRefusedUnlessInsecure() throws Exception {
        assertThat(connect(mismatched.tlsUrl(), security(mismatched, mismatched.caCert(), null, null, false)))
                .isEqualTo("tls_hostname_mismatch");
        assertThat(connect(mismatched.tlsUrl("localhost"), security(mismatched, mismatched.caCert(), null, null, false)))
                .isEqualTo("tls_hostname_mismatch");
        assertThat(connect(mismatched.tlsUrl(), security(mismatched, mismatched.caCert(), null, null, true))).isEqualTo("connected");
    }

    @Test
    void expiredBrokerCertificateIsRefused() throws Exception {
        try (MosquittoProcess expired = MosquittoProcess.startProjectConfig()) {
            TestCertificates.Issuer ca = TestCertificates.Issuer.of(expired.certDir());
            KeyPair pair = TestCertificates.ecKeyPair();
            Instant now = Instant.now();
            TestCertificates.writeCertificates(expired.certDir().resolve("server.crt"), TestCertificates.leaf("mosquitto",
                    pair.getPublic(), ca, now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)), List.of("localhost"), List.of("127.0.0.1")));
            TestCertificates.writeKey(expired.certDir().resolve("server.key"), pair.getPrivate());
            expired.restart();
            assertThat(connect(expired.tlsUrl(), security(expired, expired.caCert(), null, null, false))).isEqualTo("tls_certificate_expired");
        }
    }

    @Test
    void mutualTlsRequiresAClientCertificateOfTheCa() throws Exception {
        assertThat(connect(mutual.tlsUrl(), security(mutual, mutual.caCert(), null, null, false)))
                .isEqualTo("tls_handshake");
        // a certificate from another CA is refused too
        Path[] foreign = mismatched.clientCertificate("infoscreen-fleet");
        assertThat(connect(mutual.tlsUrl(), security(mutual, mutual.caCert(), foreign[0], foreign[1], false)))
                .isEqualTo("tls_handshake");
    }

    @Test
    void mutualTlsWorksWithPkcs8Pkcs1AndSec1Keys() throws Exception {
        // EC key from gen-certs.sh: PKCS#8 ("PRIVATE KEY")
        Path[] ec = mutual.clientCertificate("infoscreen-fleet");
        assertThat(Files.readString(ec[1])).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(connect(mutual.tlsUrl(), security(mutual, mutual.caCert(), ec[0], ec[1], false))).isEqualTo("connected");

        // the same EC key in SEC1 form ("EC PRIVATE KEY")
        Path sec1 = tmp.resolve("sec1.key");
        openssl("pkey", "-in", ec[1].toString(), "-traditional", "-out", sec1.toString());
        assertThat(Files.readString(sec1)).startsWith("-----BEGIN EC PRIVATE KEY-----");
        assertThat(connect(mutual.tlsUrl(), security(mutual, mutual.caCert(), ec[0], sec1, false))).isEqualTo("connected");

        // an RSA key in PKCS#1 form ("RSA PRIVATE KEY")
        mutual.genCerts(Map.of("KEY_TYPE", "rsa"), "client", "rsa-service");
        Path rsaCert = mutual.certDir().resolve("client-rsa-service.crt");
        Path pkcs1 = tmp.resolve("pkcs1.key");
        openssl("pkey", "-in", mutual.certDir().resolve("client-rsa-service.key").toString(), "-traditional", "-out", pkcs1.toString());
        assertThat(Files.readString(pkcs1)).startsWith("-----BEGIN RSA PRIVATE KEY-----");
        assertThat(connect(mutual.tlsUrl(), security(mutual, mutual.caCert(), rsaCert, pkcs1, false))).isEqualTo("connected");
    }

    @Test
    void keyThatDoesNotBelongToTheCertificateIsAClearConfigurationError() throws Exception {
        Path[] first = mutual.clientCertificate("first");
        Path[] second = mutual.clientCertificate("second");
        MqttSecurity mixed = security(mutual, mutual.caCert(), first[0], second[1], false);
        assertThatThrownBy(() -> mixed.apply(new MqttConnectionOptions()))
                .isInstanceOf(TlsFileException.class)
                .hasMessageContaining("MQTT_TLS_KEYFILE does not belong to the certificate in MQTT_TLS_CERTFILE");
        assertThat(connect(mutual.tlsUrl(), mixed)).isEqualTo("tls_config");
        Path missing = tmp.resolve("missing.crt");
        assertThat(connect(broker.tlsUrl(), security(broker, missing, null, null, false))).isEqualTo("tls_config");
    }

    @Test
    void tlsTurnsPlainUrlsIntoSslOnTheSamePort() {
        assertThat(MqttSecurity.brokerUrl("tcp://mosquitto:8883", true)).isEqualTo("ssl://mosquitto:8883");
        assertThat(MqttSecurity.brokerUrl("mqtts://mosquitto:8883", false)).isEqualTo("ssl://mosquitto:8883");
        assertThat(MqttSecurity.brokerUrl("tcp://mosquitto:1883", false)).isEqualTo("tcp://mosquitto:1883");
    }

    private static void openssl(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }
}
