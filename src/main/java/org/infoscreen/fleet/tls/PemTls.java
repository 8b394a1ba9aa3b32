package org.infoscreen.fleet.tls;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Builds TLS client contexts from PEM files ({@link PemFiles}): the trusted CA certificates and,
 * for mutual TLS, a client certificate chain with its private key. Every call reads the files
 * again, so a context built after a certificate rotation uses the new files.
 */
public final class PemTls {

    private static final char[] NO_PASSWORD = new char[0];

    private PemTls() {
    }

    /**
     * @param caCert PEM file with the trusted CA certificate(s), or {@code null} for the JVM's default trust store
     * @return a trust manager that reports why a server certificate is refused
     * @throws TlsFileException when the CA file cannot be read
     */
    public static VerifyingTrustManager trustManager(Path caCert) throws TlsFileException {
        try {
            KeyStore trust = null;
            if (caCert != null) {
                trust = KeyStore.getInstance("PKCS12");
                trust.load(null, null);
                int i = 0;
                for (X509Certificate ca : PemFiles.certificates(caCert, "MQTT_TLS_CA_CERT")) {
                    trust.setCertificateEntry("ca-" + i++, ca);
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x509) {
                    return new VerifyingTrustManager(x509);
                }
            }
            throw new TlsFileException("no X.509 trust manager available", null);
        } catch (TlsFileException e) {
            throw e;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new TlsFileException("MQTT_TLS_CA_CERT: cannot build the trust store: " + e.getMessage(), e);
        }
    }

    /**
     * @param certFile PEM file with the client certificate (first) and optional intermediates, or {@code null}
     * @param keyFile  PEM file with its private key, or {@code null}
     * @return key managers presenting that certificate, or {@code null} when no client certificate is configured
     * @throws TlsFileException when only one of the two is given, a file cannot be read, or the key does not belong to the certificate
     */
    public static KeyManager[] keyManagers(Path certFile, Path keyFile) throws TlsFileException {
        if (certFile == null && keyFile == null) {
            return null;
        }
        if (certFile == null || keyFile == null) {
            throw new TlsFileException("mutual TLS needs both MQTT_TLS_CERTFILE and MQTT_TLS_KEYFILE", null);
        }
        List<X509Certificate> chain = PemFiles.certificates(certFile, "MQTT_TLS_CERTFILE");
        PrivateKey key = PemFiles.privateKey(keyFile, "MQTT_TLS_KEYFILE");
        requireMatchingKey(chain.get(0), key);
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("client", key, NO_PASSWORD, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, NO_PASSWORD);
            return kmf.getKeyManagers();
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new TlsFileException("MQTT_TLS_CERTFILE/MQTT_TLS_KEYFILE: cannot build the key store: " + e.getMessage(), e);
        }
    }

    /**
     * @return a new TLS client context (TLS 1.2 or 1.3) with the given trust manager and key managers
     * @throws TlsFileException when the JVM has no TLS implementation (never on a standard JDK)
     */
    public static SSLContext context(TrustManager trustManager, KeyManager[] keyManagers) throws TlsFileException {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, new TrustManager[] {trustManager}, new SecureRandom());
            return context;
        } catch (GeneralSecurityException e) {
            throw new TlsFileException("cannot create a TLS context: " + e.getMessage(), e);
        }
    }

    /** Signs a probe with the key and verifies it with the certificate's public key. */
    private static void requireMatchingKey(X509Certificate cert, PrivateKey key) throws TlsFileException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
        };
        if (algorithm == null) {
            return; // the handshake will tell
        }
        try {
            byte[] probe = "infoscreen-fleet key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            if (verifier.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // a key of another type than the certificate's: reported below
        }
        throw new TlsFileException("MQTT_TLS_KEYFILE does not belong to the certificate in MQTT_TLS_CERTFILE ("
                + cert.getSubjectX500Principal().getName() + ")", null);
    }
}
