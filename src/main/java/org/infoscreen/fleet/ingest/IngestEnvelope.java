package org.infoscreen.fleet.ingest;

import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Constants;
import org.infoscreen.fleet.support.ServiceClock;

import java.time.OffsetDateTime;

/**
 * The first steps of route {@code mqtt-ingest} for one message as two plain method calls (bean
 * {@code ingestEnvelope}): the ingest runs them for every message on its single worker thread, and
 * as bean calls with simple-language arguments they cost several type-converter look-ups each
 * (issue #8: profiled as the largest share of the worker's CPU time).
 */
public class IngestEnvelope {

    private final ServiceClock clock;
    private final MqttMessages mqttMessages;
    private final DeviceMessageParser parser;

    /**
     * @param clock        the service clock (receive time, UTC)
     * @param mqttMessages reads the retained flag
     * @param parser       validates and parses device messages
     */
    public IngestEnvelope(ServiceClock clock, MqttMessages mqttMessages, DeviceMessageParser parser) {
        this.clock = clock;
        this.mqttMessages = mqttMessages;
        this.parser = parser;
    }

    /**
     * Keeps the raw payload in exchange property {@code fleetPayload} (for the quarantine) and sets
     * headers {@code fleetReceivedAt} (server receive time, UTC), {@code fleetRetained} (a retained
     * replay) and {@code fleetKind} ({@link DeviceMessageParser#kind}).
     *
     * @param exchange the ingest exchange, body the MQTT payload, header {@code CamelMqttTopic}
     */
    public void open(Exchange exchange) {
        Message in = exchange.getMessage();
        exchange.setProperty("fleetPayload", in.getBody());
        in.setHeader("fleetReceivedAt", clock.now());
        in.setHeader("fleetRetained", mqttMessages.retained(in));
        in.setHeader("fleetKind", parser.kind(in.getHeader(PahoMqtt5Constants.MQTT_TOPIC, String.class)));
    }

    /**
     * Replaces the body by the parsed message ({@link DeviceMessageParser#parse}) of the payload in
     * {@code fleetPayload}.
     *
     * @param exchange an exchange prepared by {@link #open}
     * @throws RejectedMessageException when the message is invalid (the route quarantines it)
     */
    public void parse(Exchange exchange) {
        Message in = exchange.getMessage();
        Object payload = exchange.getProperty("fleetPayload");
        byte[] bytes = payload instanceof byte[] b ? b
                : exchange.getContext().getTypeConverter().convertTo(byte[].class, exchange, payload);
        in.setBody(parser.parse(in.getHeader(PahoMqtt5Constants.MQTT_TOPIC, String.class), bytes,
                in.getHeader("fleetReceivedAt", OffsetDateTime.class),
                Boolean.TRUE.equals(in.getHeader("fleetRetained"))));
    }
}
