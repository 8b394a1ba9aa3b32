package org.infoscreen.fleet.mqtt;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangePropertyKey;
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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;


/**
 * MQTT 5 consumer (Paho 1.2.5) for a persistent session: the callback is set before connecting,
 * so messages the broker queued for us while we were away reach the route; with manual acks a
 * message is acknowledged only when its exchange completes, and acknowledgements leave in arrival
 * order ({@link AckSequencer}). Subscribes after every (re)connect; the connection is kept by
 * {@link MqttConnection} (fresh credentials and TLS files on every reconnect, failures counted).
 *
 * <p>Threads: Paho's single callback thread only hands each message to a bounded in-memory queue
 * and returns, so it never blocks the socket reader (keep-alive, SUBACK of a resubscribe, the
 * backlog of a resumed session never delay the start of the routes). One worker thread runs the
 * route for each message in arrival order and sets the exchange property {@code CamelBatchComplete}
 * when no further message is waiting (the ingest flushes its snapshot batch then). A route may
 * take over the acknowledgement ({@code handoverCompletions}, the snapshot batch) and complete it
 * after its commit. The queue holds at most the endpoint's {@code receiveMaximum} QoS 1 messages
 * (plus a margin): the broker sends no more unacknowledged ones than that.
 *
 * <p>A message whose route fails (the database is down) is neither acknowledged nor skipped: the
 * worker runs it again after a back-off (0.5 s doubling up to the component's retry maximum) until
 * it succeeds, keeping the session and its connection; the acknowledgements behind it wait, so
 * the broker stops sending at its in-flight limit. After a stop the broker redelivers everything
 * not acknowledged.
 *
 * <p>Reports its connection, subscription and every arriving message to the
 * {@link MqttIngestMonitor} in the registry (readiness check {@code fleet-mqtt-ingest} and
 * metrics), and runs a watchdog: when nothing arrived for the monitor's {@code resubscribeAfter}
 * although the connection is up and nothing waits for an acknowledgement (the service's
 * self-probes should arrive every few seconds), it subscribes again.
 */
public class SessionSafeMqttConsumer extends DefaultConsumer {

    private static final Logger LOG = LoggerFactory.getLogger(SessionSafeMqttConsumer.class);
    private static final long FIRST_RETRY_DELAY_MS = 500;
    private static final int QUEUE_MARGIN = 64;

    /** One arrived message on its way to the route. */
    private record Delivery(String topic, MqttMessage message, AckSequencer.Ticket ticket) {
    }

    private volatile MqttClient client;
    private volatile MqttConnection connection;
    private java.util.concurrent.ScheduledExecutorService reconnectExecutor;
    private ExecutorService workerExecutor;
    private MqttIngestMonitor monitor;
    private volatile AckSequencer sequencer;
    private volatile BlockingQueue<Delivery> inbox;
    private volatile boolean running;
    private volatile boolean retrying;
    private final Object retryWait = new Object();

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
        // SUBACK and DISCONNECT waits bounded like the producers' (CONNACK: MqttConnection, connectionTimeout)
        c.setTimeToWait(BoundedWaitMqttProducer.WAIT_MS);
        AckSequencer acks = new AckSequencer(c::messageArrivedComplete);
        acks.onAckFailure((id, e) -> LOG.debug("MQTT message {} not acknowledged (connection gone, the broker redelivers it): {}", id, e.getMessage()));
        sequencer = acks;
        int receiveMaximum = config.getReceiveMaximum() > 0 ? config.getReceiveMaximum() : 65_535;
        inbox = new LinkedBlockingQueue<>(receiveMaximum + QUEUE_MARGIN);
        running = true;
        workerExecutor = getEndpoint().getCamelContext().getExecutorServiceManager()
                .newSingleThreadExecutor(this, "mqtt-ingest-worker-" + c.getClientId());
        BlockingQueue<Delivery> queue = inbox;
        workerExecutor.execute(() -> work(queue));
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
        // message ids of an earlier connection mean other messages on the next one: never ack them there
        conn.beforeEachAttempt(acks::reset);
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
     * Subscribes to the endpoint's topic and tells the monitor whether the broker granted it. When
     * the topic is a shared subscription ({@code $share/<group>/…}), the broker hands each message
     * to one member of the group, so this instance's self-probe could reach another instance: the
     * probe topic of this client ({@code <prefix>/_service/probe/<client id>}) is subscribed as well,
     * without sharing, in the same SUBSCRIBE, and both must be granted.
     *
     * @throws MqttException when SUBSCRIBE fails or the broker refuses a filter (reason code ≥ 0x80);
     *                       the connection then counts it as a failure and connects again
     */
    private void subscribe(MqttClient c) throws MqttException {
        try {
            String topic = getEndpoint().getTopic();
            int qos = getEndpoint().getConfiguration().getQos();
            IMqttToken token = org.infoscreen.fleet.cluster.ClusterSettings.isShared(topic)
                    ? c.subscribe(new String[] {topic, monitor.probeTopic(c.getClientId())}, new int[] {qos, qos})
                    : c.subscribe(topic, qos);
            int[] codes = token.getReasonCodes();
            if (codes != null) {
                for (int code : codes) {
                    if (code >= 0x80) {
                        throw new MqttException(code);
                    }
                }
            }
            monitor.subscribed(true, null);
        } catch (MqttException e) {
            monitor.subscribed(false, "subscribe refused or failed: " + e.getMessage());
            throw e;
        }
    }

    /**
     * Watchdog: connected but nothing arrived (not even our self-probe) for too long → subscribe
     * again. Not while messages wait for their acknowledgement: then the broker holds back the
     * next ones at its in-flight limit (the database is slow or down), which is no deaf consumer.
     */
    private void watch() {
        MqttClient c = client;
        AckSequencer acks = sequencer;
        if (c == null || !c.isConnected() || !monitor.resubscribeDue() || retrying || (acks != null && acks.outstanding() > 0)) {
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

    /** @return messages of the current connection not acknowledged yet (waiting, in the route, or in a batch) */
    public int unacknowledged() {
        AckSequencer acks = sequencer;
        return acks == null ? 0 : acks.outstanding();
    }

    /** @return whether the worker is waiting to run a failed message again (the database is down) */
    public boolean retrying() {
        return retrying;
    }

    private void shutdownExecutor() {
        running = false;
        synchronized (retryWait) {
            retryWait.notifyAll();
        }
        if (workerExecutor != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(workerExecutor);
            workerExecutor = null;
        }
        if (reconnectExecutor != null) {
            getEndpoint().getCamelContext().getExecutorServiceManager().shutdownNow(reconnectExecutor);
            reconnectExecutor = null;
        }
    }

    @Override
    protected void doStop() throws Exception {
        running = false;
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
                // persistent session: no unsubscribe, the broker keeps queueing for us and redelivers
                // what was not acknowledged
                c.disconnect();
            }
            closeQuietly(c);
        }
        retrying = false;
    }

    private static void closeQuietly(MqttClient c) {
        try {
            c.close(true);
        } catch (MqttException e) {
            LOG.debug("closing MQTT client: {}", e.getMessage());
        }
    }

    /** The worker: runs the route for each message in arrival order until the consumer stops. */
    private void work(BlockingQueue<Delivery> queue) {
        while (running) {
            Delivery d;
            try {
                d = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            process(d, queue);
        }
    }

    /** Runs the route for one message; a failure is run again after a back-off until it succeeds or the consumer stops. */
    private void process(Delivery d, BlockingQueue<Delivery> queue) {
        long delay = FIRST_RETRY_DELAY_MS;
        long maxDelay = Math.max(FIRST_RETRY_DELAY_MS, getEndpoint().retryMaxDelayMs());
        for (int attempt = 1; running; attempt++) {
            Exchange exchange = createExchange(d, queue.isEmpty());
            Throwable failure;
            try {
                getProcessor().process(exchange);
                failure = exchange.getException();
            } catch (Exception e) {
                failure = e;
            } finally {
                releaseExchange(exchange, false);
            }
            if (failure == null) {
                retrying = false;
                return;
            }
            retrying = true;
            String message = "MQTT message {} on {} not stored (attempt {}: {}); not acknowledged, trying again in {} ms";
            Object[] args = {d.message().getId(), d.topic(), attempt, failure.getMessage(), delay};
            if (delay < maxDelay || attempt % 10 == 0) {
                LOG.warn(message, args);
            } else {
                LOG.debug(message, args);
            }
            synchronized (retryWait) {
                try {
                    if (running) {
                        retryWait.wait(delay);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            delay = Math.min(delay * 2, maxDelay);
        }
    }

    private Exchange createExchange(Delivery d, boolean nothingWaiting) {
        MqttMessage mqttMessage = d.message();
        Exchange exchange = createExchange(false);
        PahoMqtt5Message paho = new PahoMqtt5Message(exchange.getContext(), mqttMessage);
        paho.setBody(mqttMessage.getPayload());
        paho.setHeader(PahoMqtt5Constants.MQTT_TOPIC, d.topic());
        paho.setHeader(PahoMqtt5Constants.MQTT_QOS, mqttMessage.getQos());
        paho.setHeader(PahoMqtt5Constants.CAMEL_PAHO_MSG_PROPERTIES, mqttMessage.getProperties());
        exchange.setIn(paho);
        // Camel's batch-consumer convention: true when no further message waits behind this one
        exchange.setProperty(ExchangePropertyKey.BATCH_COMPLETE, nothingWaiting);
        AckSequencer.Ticket ticket = d.ticket();
        if (ticket != null) {
            exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
                @Override
                public void onComplete(Exchange exchange) {
                    ticket.done();
                }
            });
        }
        return exchange;
    }

    private final class Callback implements MqttCallback {

        @Override
        public void messageArrived(String topic, MqttMessage message) throws InterruptedException {
            monitor.messageReceived(topic);
            AckSequencer acks = sequencer;
            AckSequencer.Ticket ticket = getEndpoint().getConfiguration().isManualAcksEnabled() && acks != null
                    ? acks.arrived(message.getId(), message.getQos()) : null;
            BlockingQueue<Delivery> queue = inbox;
            // never full with QoS 1 (the broker respects receiveMaximum); a QoS 0 flood waits here
            queue.put(new Delivery(topic, message, ticket));
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
