package org.infoscreen.fleet.mqtt;

import java.io.IOException;

/**
 * A setting of the service's MQTT connection cannot be used for a connection attempt, e.g. the
 * file named by {@code MQTT_PASSWORD_FILE} is missing or unreadable (rotation half done, wrong
 * mount). Counted with reason {@code config}; the message names the setting, never a secret.
 */
public class MqttSettingsException extends IOException {

    /**
     * @param message what is wrong, naming the setting
     * @param cause   the underlying error, or {@code null}
     */
    public MqttSettingsException(String message, Throwable cause) {
        super(message, cause);
    }
}
