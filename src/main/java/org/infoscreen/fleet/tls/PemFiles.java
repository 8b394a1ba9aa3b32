package org.infoscreen.fleet.tls;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads PEM files as operators have them, with Bouncy Castle's {@link PEMParser}: certificates
 * ({@code CERTIFICATE} blocks, several per file for a chain or a CA bundle) and unencrypted
 * private keys in PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1
 * ({@code EC PRIVATE KEY}, also after an {@code EC PARAMETERS} block) form (RFC 7468).
 * Files are read on every call, so a replaced file is used by the next call.
 */
public final class PemFiles {

    private PemFiles() {
    }

    /**
     * @param file    a PEM file with one or more certificates
     * @param setting the setting that names the file (for messages), e.g. {@code MQTT_TLS_CA_CERT}
     * @return the certificates in file order (at least one)
     * @throws TlsFileException when the file is unreadable or holds no certificate
     */
    public static List<X509Certificate> certificates(Path file, String setting) throws TlsFileException {
        List<X509Certificate> out = new ArrayList<>();
        JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof X509CertificateHolder holder) {
                    out.add(converter.getCertificate(holder));
                }
            }
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new TlsFileException(setting + " (" + file + "): cannot read certificates: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new TlsFileException(setting + " (" + file + "): no PEM CERTIFICATE block found", null);
        }
        return out;
    }

    /**
     * @param file    a PEM file with an unencrypted private key (PKCS#8, PKCS#1 RSA or SEC1 EC)
     * @param setting the setting that names the file (for messages), e.g. {@code MQTT_TLS_KEYFILE}
     * @return the key
     * @throws TlsFileException when the file is unreadable, encrypted or holds no private key
     */
    public static PrivateKey privateKey(Path file, String setting) throws TlsFileException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(r)) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof PEMKeyPair pair) {
                    return converter.getKeyPair(pair).getPrivate();
                }
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new TlsFileException(setting + " (" + file + "): the private key is encrypted; give an unencrypted key "
                            + "readable only by the service (e.g. openssl pkey -in encrypted.key -out service.key; chmod 600 service.key)", null);
                }
                // EC PARAMETERS and other blocks are skipped
            }
        } catch (TlsFileException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new TlsFileException(setting + " (" + file + "): cannot read the private key: " + e.getClass().getSimpleName(), e);
        }
        throw new TlsFileException(setting + " (" + file + "): no PEM private key block found", null);
    }
}
