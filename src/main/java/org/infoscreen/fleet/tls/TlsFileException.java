package org.infoscreen.fleet.tls;

import java.io.IOException;

/**
 * A configured TLS file (CA certificate, client certificate or key) is missing, unreadable or not
 * what it should be. The message names the setting and the problem, never file contents.
 */
public class TlsFileException extends IOException {

    /**
     * @param message what is wrong, naming the setting (e.g. {@code MQTT_TLS_KEYFILE})
     * @param cause   the underlying error, or {@code null}
     */
    public TlsFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
