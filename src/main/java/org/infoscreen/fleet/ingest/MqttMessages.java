package org.infoscreen.fleet.ingest;

import org.apache.camel.Message;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Message;

/**
 * Reads MQTT 5 delivery flags that camel-paho-mqtt5 4.17 does not copy into headers.
 */
public class MqttMessages {

    /**
     * Whether the broker delivered this message because it was retained, i.e. replayed on
     * subscribe (MQTT 5 §3.3.1.3 with Retain As Published = 0). Such a message is old news and
     * must never refresh liveness.
     *
     * @param message the Camel message created by the paho-mqtt5 consumer
     * @return {@code true} for a retained replay, {@code false} for a live message or another message type
     */
    public boolean retained(Message message) {
        return message instanceof PahoMqtt5Message paho
                && paho.getMqttMessage() != null
                && paho.getMqttMessage().isRetained();
    }
}
