package org.infoscreen.fleet.mqtt;

import org.apache.camel.Exchange;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Configuration;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Constants;
import org.apache.camel.support.DefaultProducer;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;


/**
 * MQTT 5 producer (Paho 1.2.5) whose publish never blocks its caller for long: Paho's blocking
 * client waits for the PUBACK without limit by default, so a broker that accepts TCP but does not
 * answer would hang a REST request or a sweep. Here every wait is bounded by
 * {@link #WAIT_MS}, and a client that is not connected fails at once; the caller keeps the
 * command queued and the command sweep tries again. The connection is kept by
 * {@link MqttConnection} (fresh credentials and TLS files on every reconnect, failures counted).
 */
public class BoundedWaitMqttProducer extends DefaultProducer {

    /** Longest wait for the broker's PUBACK (and for other blocking client calls), milliseconds. */
    public static final long WAIT_MS = 10_000;

    private volatile MqttClient client;
    private volatile MqttConnection connection;
    private java.util.concurrent.ScheduledExecutorService reconnectExecutor;

    /** @param endpoint the endpoint whose configuration (broker, client id, credentials, QoS) is used */
    public BoundedWaitMqttProducer(SessionSafePahoMqtt5Component.SessionSafeEndpoint endpoint) {
        super(endpoint);
    }

    @Override
    public SessionSafePahoMqtt5Component.SessionSafeEndpoint getEndpoint() {
        return (SessionSafePahoMqtt5Component.SessionSafeEndpoint) super.getEndpoint();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        MqttClient c = getEndpoint().newClient();
        c.setTimeToWait(WAIT_MS);
        reconnectExecutor = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(this, "mqtt-reconnect-" + c.getClientId());
        MqttConnection conn = new MqttConnection(getEndpoint(), c, reconnectExecutor, (token, reconnect) -> { });
        c.setCallback(new org.eclipse.paho.mqttv5.client.MqttCallback() {
            @Override
            public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse response) {
                conn.lost(response.getException());
            }

            @Override
            public void mqttErrorOccurred(MqttException exception) {
                // reported through the publish that failed
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                // producer only
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken token) {
                // publish() waits for its PUBACK
            }

            @Override
            public void connectComplete(boolean reconnect, String serverURI) {
                // MqttConnection reports connects
            }

            @Override
            public void authPacketArrived(int reasonCode, MqttProperties properties) {
                // no enhanced authentication
            }
        });
        try {
            conn.connect();
        } catch (MqttException e) {
            // still wanted: the monitor keeps reporting it until a retry connects or the route stops
            c.close(true);
            shutdownExecutor();
            throw e;
        }
        connection = conn;
        client = c;
    }

    private void shutdownExecutor() {
        if (reconnectExecutor != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(reconnectExecutor);
            reconnectExecutor = null;
        }
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        MqttConnection conn = connection;
        connection = null;
        if (conn != null) {
            conn.stop();
        }
        shutdownExecutor();
        MqttClient c = client;
        client = null;
        if (c != null) {
            try {
                if (c.isConnected()) {
                    c.disconnect(WAIT_MS);
                }
            } finally {
                c.close(true);
            }
        }
    }

    /**
     * Publishes the body to the topic of the endpoint or of header {@code CamelPahoMqtt5OverrideTopic},
     * with the QoS, retained flag and MQTT 5 properties of the headers or the endpoint.
     *
     * @throws MqttException when the client is not connected or the broker does not acknowledge within {@link #WAIT_MS}
     */
    @Override
    public void process(Exchange exchange) throws Exception {
        MqttClient c = client;
        if (c == null || !c.isConnected()) {
            throw new MqttException(32104); // REASON_CODE_CLIENT_NOT_CONNECTED
        }
        PahoMqtt5Configuration config = getEndpoint().getConfiguration();
        String topic = exchange.getIn().getHeader(PahoMqtt5Constants.CAMEL_PAHO_OVERRIDE_TOPIC, getEndpoint().getTopic(), String.class);
        MqttMessage message = new MqttMessage(exchange.getIn().getBody(byte[].class));
        message.setQos(exchange.getIn().getHeader(PahoMqtt5Constants.CAMEL_PAHO_MSG_QOS, config.getQos(), Integer.class));
        message.setRetained(exchange.getIn().getHeader(PahoMqtt5Constants.CAMEL_PAHO_MSG_RETAINED, config.isRetained(), Boolean.class));
        message.setProperties(exchange.getIn().getHeader(PahoMqtt5Constants.CAMEL_PAHO_MSG_PROPERTIES, MqttProperties.class));
        c.publish(topic, message);
    }
}
