package org.infoscreen.fleet.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;

/**
 * Client-side trust manager around the JDK's PKIX one that tells why a server certificate is
 * refused: the chain is checked first (→ {@link TlsTrustException#UNTRUSTED} or
 * {@link TlsTrustException#EXPIRED}), then the host name when the socket asks for endpoint
 * identification (→ {@link TlsTrustException#HOSTNAME_MISMATCH}, RFC 6125 / RFC 2818 rules of
 * the JDK). Nothing is accepted that the JDK trust manager would refuse.
 */
public final class VerifyingTrustManager extends X509ExtendedTrustManager {

    private final X509ExtendedTrustManager delegate;

    /** @param delegate the JDK trust manager over the trusted CA certificates */
    public VerifyingTrustManager(X509ExtendedTrustManager delegate) {
        this.delegate = delegate;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkChain(chain, authType);
        try {
            delegate.checkServerTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            throw new TlsTrustException(TlsTrustException.HOSTNAME_MISMATCH,
                    "the broker certificate does not name the host that was dialled: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkChain(chain, authType);
        try {
            delegate.checkServerTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            throw new TlsTrustException(TlsTrustException.HOSTNAME_MISMATCH,
                    "the broker certificate does not name the host that was dialled: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkChain(chain, authType);
    }

    private void checkChain(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            delegate.checkServerTrusted(chain, authType);
        } catch (CertificateException e) {
            boolean validity = false;
            for (Throwable t = e; t != null; t = t.getCause()) {
                validity |= t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException;
            }
            if (validity) {
                throw new TlsTrustException(TlsTrustException.EXPIRED,
                        "a certificate of the broker's chain is expired or not yet valid: " + e.getMessage(), e);
            }
            throw new TlsTrustException(TlsTrustException.UNTRUSTED,
                    "the broker certificate is not signed by a trusted CA (MQTT_TLS_CA_CERT): " + e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        delegate.checkClientTrusted(chain, authType, socket);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        delegate.checkClientTrusted(chain, authType, engine);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }
}
