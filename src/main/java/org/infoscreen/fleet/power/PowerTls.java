package org.infoscreen.fleet.power;

import org.apache.camel.support.jsse.SSLContextParameters;
import org.apache.camel.support.jsse.TrustManagersParameters;

import javax.net.ssl.X509TrustManager;
import java.security.cert.X509Certificate;

/**
 * TLS settings for power devices with self-signed certificates (PDUs and BMCs ship with them).
 * Bound as {@code powerInsecureTls}; a driver uses it only when the power target says
 * {@code tls_insecure: true}, never by default.
 */
public final class PowerTls {

    private PowerTls() {
    }

    /** @return TLS parameters that accept any server certificate (encryption without authentication) */
    public static SSLContextParameters trustAll() {
        TrustManagersParameters trust = new TrustManagersParameters();
        trust.setTrustManager(new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
                // not a server
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                // accepted on purpose: the power target opted in with tls_insecure
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        });
        SSLContextParameters tls = new SSLContextParameters();
        tls.setTrustManagers(trust);
        return tls;
    }
}
