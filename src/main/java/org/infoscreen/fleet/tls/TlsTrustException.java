package org.infoscreen.fleet.tls;

import java.security.cert.CertificateException;

/**
 * The peer's certificate was refused by {@link VerifyingTrustManager}, with the reason as a
 * stable code: {@link #UNTRUSTED} (chain not signed by a trusted CA), {@link #EXPIRED} (a
 * certificate of the chain is expired or not yet valid) or {@link #HOSTNAME_MISMATCH} (the
 * certificate does not name the host that was dialled).
 */
public class TlsTrustException extends CertificateException {

    /** The chain does not lead to a trusted CA certificate. */
    public static final String UNTRUSTED = "tls_untrusted";
    /** A certificate of the chain is outside its validity period. */
    public static final String EXPIRED = "tls_certificate_expired";
    /** The certificate's subject alternative names do not include the dialled host. */
    public static final String HOSTNAME_MISMATCH = "tls_hostname_mismatch";

    private final String reason;

    /**
     * @param reason  one of the reason codes of this class
     * @param message what was refused
     * @param cause   the JSSE/PKIX error
     */
    public TlsTrustException(String reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** @return the reason code, e.g. {@link #HOSTNAME_MISMATCH} */
    public String reason() {
        return reason;
    }
}
