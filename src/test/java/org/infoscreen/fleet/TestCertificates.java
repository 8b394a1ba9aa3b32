package org.infoscreen.fleet;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.infoscreen.fleet.tls.PemFiles;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * Certificates with any validity period (already expired, expiring in a few days) for tests,
 * issued with Bouncy Castle by a CA made by {@code mosquitto/gen-certs.sh} or by a fresh one.
 */
final class TestCertificates {

    private static final SecureRandom RANDOM = new SecureRandom();

    private TestCertificates() {
    }

    /** An issuer: its certificate and private key. */
    record Issuer(X509Certificate certificate, PrivateKey key) {

        /** @return the CA in {@code certDir} ({@code ca.crt}, {@code ca.key}) */
        static Issuer of(Path certDir) throws IOException {
            return new Issuer(PemFiles.certificates(certDir.resolve("ca.crt"), "ca.crt").get(0),
                    PemFiles.privateKey(certDir.resolve("ca.key"), "ca.key"));
        }
    }

    /** @return a new P-256 key pair */
    static KeyPair ecKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return a self-signed CA valid between the two instants */
    static Issuer selfSignedCa(String cn, Instant notBefore, Instant notAfter) {
        KeyPair pair = ecKeyPair();
        X509Certificate cert = build(cn, pair.getPublic(), null, pair.getPrivate(), notBefore, notAfter, true, List.of(), List.of());
        return new Issuer(cert, pair.getPrivate());
    }

    /**
     * @param dns DNS subject alternative names (server certificates)
     * @param ips IP subject alternative names
     * @return a leaf certificate for {@code subjectKey}, signed by {@code issuer}
     */
    static X509Certificate leaf(String cn, PublicKey subjectKey, Issuer issuer, Instant notBefore, Instant notAfter,
                                List<String> dns, List<String> ips) {
        return build(cn, subjectKey, issuer.certificate(), issuer.key(), notBefore, notAfter, false, dns, ips);
    }

    private static X509Certificate build(String cn, PublicKey subjectKey, X509Certificate issuerCert, PrivateKey issuerKey,
                                         Instant notBefore, Instant notAfter, boolean ca, List<String> dns, List<String> ips) {
        try {
            X500Name subject = new X500Name("CN=" + cn);
            X500Name issuer = issuerCert == null ? subject : X500Name.getInstance(issuerCert.getSubjectX500Principal().getEncoded());
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(128, RANDOM),
                    Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            List<GeneralName> names = new ArrayList<>();
            dns.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
            ips.forEach(i -> names.add(new GeneralName(GeneralName.iPAddress, i)));
            if (!names.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            String algorithm = "EC".equals(issuerKey.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(issuerKey)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes certificates as PEM (one file, in order). */
    static void writeCertificates(Path file, X509Certificate... certs) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            for (X509Certificate c : certs) {
                w.writeObject(c);
            }
        }
        Files.writeString(file, out.toString());
    }

    /** Writes a private key as unencrypted PKCS#8 PEM ({@code PRIVATE KEY}). */
    static void writeKey(Path file, PrivateKey key) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(key, null));
        }
        Files.writeString(file, out.toString());
    }
}
