package org.infoscreen.fleet.mqtt;

import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Configuration;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Constants;
import org.apache.camel.component.paho.mqtt5.PahoMqtt5Message;
import org.apache.camel.support.DefaultConsumer;
import org.apache.camel.support.SynchronizationAdapter;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.infoscreen.fleet.health.MqttIngestMonitor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;


/**
 * MQTT 5 consumer (Paho 1.2.5) for a persistent session: the callback is set before connecting,
 * so messages the broker queued for us while we were away reach the route; with manual acks a
 * message is acknowledged only when its exchange completes (failed exchanges stay unacknowledged
 * and are redelivered on the next connection). Subscribes after every (re)connect; the
 * connection is kept by {@link MqttConnection} (fresh credentials and TLS files on every
 * reconnect, failures counted).
 *
 * <p>Reports its connection, subscription and every arriving message to the
 * {@link MqttIngestMonitor} in the registry (readiness check {@code fleet-mqtt-ingest} and
 * metrics), and runs a watchdog: when nothing arrived for the monitor's {@code resubscribeAfter}
 * although the connection is up (the service's self-probes should arrive every few seconds), it
 * subscribes again.
 */
public class SessionSafeMqttConsumer extends DefaultConsumer {

    private static final Logger LOG = LoggerFactory.getLogger(SessionSafeMqttConsumer.class);

    private volatile MqttClient client;
    private volatile MqttConnection connection;
    private java.util.concurrent.ScheduledExecutorService reconnectExecutor;
    private MqttIngestMonitor monitor;

    /**
     * @param endpoint  the endpoint whose configuration (broker, client id, session, QoS) is used
     * @param processor the route
     */
    public SessionSafeMqttConsumer(SessionSafePahoMqtt5Component.SessionSafeEndpoint endpoint, Processor processor) {
        super(endpoint, processor);
    }

    @Override
    public SessionSafePahoMqtt5Component.SessionSafeEndpoint getEndpoint() {
        return (SessionSafePahoMqtt5Component.SessionSafeEndpoint) super.getEndpoint();
    }


    @Override
    protected void doStart() throws Exception {
        super.doStart();
        MqttIngestMonitor found = getEndpoint().getCamelContext().getRegistry().findSingleByType(MqttIngestMonitor.class);
        monitor = found != null ? found : new MqttIngestMonitor("", Duration.ofDays(365), Duration.ZERO);
        PahoMqtt5Configuration config = getEndpoint().getConfiguration();
        MqttClient c = getEndpoint().newClient();
        c.setManualAcks(config.isManualAcksEnabled());
        c.setCallback(new Callback());
        // assigned before connecting: queued messages arrive while connect() is still returning
        client = c;
        reconnectExecutor = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(this, "mqtt-reconnect-" + c.getClientId());
        MqttConnection conn = new MqttConnection(getEndpoint(), c, reconnectExecutor, (token, reconnect) -> {
            LOG.info("MQTT consumer {} {} to {} (session present: {})", c.getClientId(), reconnect ? "reconnected" : "connected",
                    config.getBrokerUrl(), token.getSessionPresent());
            monitor.connected(reconnect);
            subscribe(c);
        });
        connection = conn;
        try {
            conn.connect();
        } catch (MqttException e) {
            // still wanted: the monitor keeps reporting it until a retry connects or the route stops
            monitor.disconnected("connect failed: " + MqttConnectionMonitor.describe(e));
            connection = null;
            client = null;
            closeQuietly(c);
            shutdownExecutor();
            throw e;
        }
        if (!monitor.resubscribeAfter().isZero()) {
            reconnectExecutor.scheduleWithFixedDelay(this::watch, 1, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * Subscribes to the endpoint's topic and tells the monitor whether the broker granted it.
     *
     * @throws MqttException when SUBSCRIBE fails or the broker refuses it (reason code ≥ 0x80); the
     *                       connection then counts it as a failure and connects again
     */
    private void subscribe(MqttClient c) throws MqttException {
        try {
            IMqttToken token = c.subscribe(getEndpoint().getTopic(), getEndpoint().getConfiguration().getQos());
            int[] codes = token.getReasonCodes();
            if (codes != null && codes.length > 0 && codes[0] >= 0x80) {
                throw new MqttException(codes[0]);
            }
            monitor.subscribed(true, null);
        } catch (MqttException e) {
            monitor.subscribed(false, "subscribe refused or failed: " + e.getMessage());
            throw e;
        }
    }

    /** Watchdog: connected but nothing arrived (not even our self-probe) for too long → subscribe again. */
    private void watch() {
        MqttClient c = client;
        if (c == null || !c.isConnected() || !monitor.resubscribeDue()) {
            return;
        }
        LOG.warn("MQTT consumer received nothing for {} s although connected (not even the self-probe): subscribing again",
                monitor.resubscribeAfter().toSeconds());
        monitor.resubscribed();
        try {
            subscribe(c);
        } catch (MqttException e) {
            LOG.error("MQTT resubscribe by the watchdog failed: {}", e.getMessage());
        }
    }

    /** @return the Paho client while the consumer runs, for diagnostics and tests; {@code null} otherwise */
    public MqttClient client() {
        return client;
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
        if (monitor != null) {
            monitor.disconnected("consumer stopped");
        }
        MqttConnection conn = connection;
        connection = null;
        if (conn != null) {
            conn.stop();
        }
        shutdownExecutor();
        MqttClient c = client;
        client = null;
        if (c != null) {
            if (c.isConnected()) {
                // persistent session: no unsubscribe, the broker keeps queueing for us
                c.disconnect();
            }
            closeQuietly(c);
        }
    }

    private static void closeQuietly(MqttClient c) {
        try {
            c.close(true);
        } catch (MqttException e) {
            LOG.debug("closing MQTT client: {}", e.getMessage());
        }
    }

    private Exchange createExchange(MqttMessage mqttMessage, String topic) {
        Exchange exchange = createExchange(true);
        PahoMqtt5Message paho = new PahoMqtt5Message(exchange.getContext(), mqttMessage);
        paho.setBody(mqttMessage.getPayload());
        paho.setHeader(PahoMqtt5Constants.MQTT_TOPIC, topic);
        paho.setHeader(PahoMqtt5Constants.MQTT_QOS, mqttMessage.getQos());
        paho.setHeader(PahoMqtt5Constants.CAMEL_PAHO_MSG_PROPERTIES, mqttMessage.getProperties());
        exchange.setIn(paho);
        if (getEndpoint().getConfiguration().isManualAcksEnabled()) {
            MqttClient owner = client;
            exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
                @Override
                public void onComplete(Exchange exchange) {
                    try {
                        owner.messageArrivedComplete(mqttMessage.getId(), mqttMessage.getQos());
                    } catch (MqttException e) {
                        LOG.warn("Could not acknowledge MQTT message {}: {}", mqttMessage.getId(), e.getMessage());
                    }
                }

                @Override
                public void onFailure(Exchange exchange) {
                    LOG.warn("MQTT message {} on {} not acknowledged: processing failed; the broker redelivers it on the next connection",
                            mqttMessage.getId(), topic);
                }
            });
        }
        return exchange;
    }

    private final class Callback implements MqttCallback {

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            monitor.messageReceived(topic);
            Exchange exchange = createExchange(message, topic);
            AsyncCallback cb = defaultConsumerCallback(exchange, true);
            getAsyncProcessor().process(exchange, cb);
        }

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
            // subscribing after every connect is MqttConnection's OnConnected step
        }

        @Override
        public void disconnected(MqttDisconnectResponse response) {
            monitor.disconnected("disconnected: " + (response.getReasonString() != null ? response.getReasonString()
                    : response.getException() != null ? response.getException().getMessage() : "connection lost"));
            MqttConnection conn = connection;
            if (conn != null) {
                conn.lost(response.getException());
            }
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            LOG.warn("MQTT error: {}", exception.getMessage());
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
            // consumer only
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
            LOG.debug("MQTT AUTH packet {}", reasonCode);
        }
    }
}
