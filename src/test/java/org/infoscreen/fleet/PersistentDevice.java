package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.eclipse.paho.mqttv5.client.DisconnectedBufferOptions;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;

/**
 * A display as the payload guide (§9) recommends it for the fault tests: MQTT 5, client id =
 * its UUID, a persistent session (Clean Start = false, session expiry 300 s), reconnect attempts
 * twice a second while disconnected, and an offline buffer, so what it publishes while the broker is away is sent once
 * the broker is back (QoS 1, resent with DUP until the broker's PUBACK). Publishing never blocks:
 * {@link #awaitDelivered(Duration)} waits for every PUBACK. It records the commands it receives
 * (subscribed at QoS 1 after every connect, kept by the broker while it is away) and acks nothing
 * by itself.
 */
final class PersistentDevice implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String topicPrefix;
    private final UUID uuid;
    private final MqttAsyncClient client;
    private final List<IMqttToken> sent = new CopyOnWriteArrayList<>();
    private final List<JsonNode> commands = new CopyOnWriteArrayList<>();
    private final AtomicInteger connects = new AtomicInteger();
    private final java.util.Set<String> answered = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.ExecutorService answers = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "device-answers");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean answering;
    /**
     * Paho 1.2.5 keeps one reconnect delay for every client of the JVM and doubles it with any
     * client's failed attempt, so other clients of a long test run can push it to two minutes:
     * the device asks for a reconnect itself, twice a second, while it is disconnected.
     */
    private final java.util.concurrent.ScheduledExecutorService reconnector =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "device-reconnect");
                t.setDaemon(true);
                return t;
            });

    /**
     * Connects and subscribes to {@code <prefix>/<uuid>/commands}.
     *
     * @param brokerUrl   broker URL
     * @param topicPrefix the service's topic prefix
     * @param uuid        the display's UUID
     * @param login       user name and password to log in with (e.g. {@link MosquittoProcess#testUserOptions()}), or {@code null}
     */
    PersistentDevice(String brokerUrl, String topicPrefix, UUID uuid, MqttConnectionOptions login) {
        this.topicPrefix = topicPrefix;
        this.uuid = uuid;
        try {
            client = new MqttAsyncClient(brokerUrl, "display-" + uuid, new MemoryPersistence());
            DisconnectedBufferOptions buffer = new DisconnectedBufferOptions();
            buffer.setBufferEnabled(true);
            buffer.setBufferSize(100_000);
            client.setBufferOpts(buffer);
            client.setCallback(new Callback());
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setCleanStart(false);
            o.setSessionExpiryInterval(300L);
            o.setAutomaticReconnect(true);
            // Paho 1.2.5 doubles one JVM-wide reconnect delay up to maxReconnectDelay (not the automatic one)
            o.setAutomaticReconnectDelay(1, 2);
            o.setMaxReconnectDelay(2000);
            o.setKeepAliveInterval(5);
            if (login != null) {
                o.setUserName(login.getUserName());
                o.setPassword(login.getPassword());
            }
            client.connect(o).waitForCompletion(10_000);
            reconnector.scheduleWithFixedDelay(() -> {
                if (!client.isConnected()) {
                    try {
                        client.reconnect();
                    } catch (MqttException e) {
                        // already connecting, or the broker is still away: the next tick tries again
                    }
                }
            }, 500, 500, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (MqttException e) {
            throw new IllegalStateException(e);
        }
    }

    UUID uuid() {
        return uuid;
    }

    /**
     * Publishes at QoS 1 to {@code <prefix>/<uuid>/<kind>}; buffered while the broker is away.
     * When the in-flight window is full, or in the moment between losing the connection and the
     * start of the automatic reconnect (Paho buffers only while it reconnects), it tries again for
     * at most 10 s.
     */
    void publish(String kind, String payload) {
        MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
        m.setQos(1);
        String topic = topicPrefix + "/" + uuid + "/" + kind;
        await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5)).until(() -> {
            try {
                sent.add(client.publish(topic, m));
                return true;
            } catch (MqttException e) {
                if (e.getReasonCode() == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_MAX_INFLIGHT
                        || e.getReasonCode() == org.eclipse.paho.mqttv5.client.MqttClientException.REASON_CODE_CLIENT_NOT_CONNECTED) {
                    return false;
                }
                throw new IllegalStateException("display " + uuid + " cannot publish " + kind, e);
            }
        });
    }

    /**
     * Answers every command it receives from now on with {@code accepted} and {@code completed}
     * (once per command id, as the guide asks of displays).
     */
    PersistentDevice answering() {
        answering = true;
        return this;
    }

    /** Acks a command on {@code <prefix>/<uuid>/commands/ack}. */
    void ack(String commandId, String status) {
        publish("commands/ack", "{\"command_id\":\"" + commandId + "\",\"status\":\"" + status + "\"}");
    }

    /** @return how many messages the broker has acknowledged (PUBACK) so far */
    long delivered() {
        return sent.stream().filter(t -> t.isComplete() && t.getException() == null).count();
    }

    /** Waits until the broker has acknowledged every message published so far. */
    void awaitDelivered(Duration atMost) {
        await().atMost(atMost).alias("display " + uuid + " has every PUBACK")
                .untilAsserted(() -> org.assertj.core.api.Assertions.assertThat(sent)
                        .allSatisfy(t -> org.assertj.core.api.Assertions.assertThat(t.isComplete() && t.getException() == null)
                                .as("message %s: complete %s, failure %s", t.getMessageId(), t.isComplete(), t.getException()).isTrue()));
    }

    /** @return the ids of the commands received so far, in arrival order (duplicates included) */
    List<String> receivedCommandIds() {
        return commands.stream().map(c -> c.path("command_id").asText()).toList();
    }

    /** @return how often the device connected (1 + reconnects) */
    int connects() {
        return connects.get();
    }

    @Override
    public void close() {
        answers.shutdownNow();
        reconnector.shutdownNow();
        try {
            if (client.isConnected()) {
                client.disconnect().waitForCompletion(5_000);
            }
            client.close(true);
        } catch (MqttException e) {
            // closing a test client
        }
    }

    private final class Callback implements MqttCallback {

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
            connects.incrementAndGet();
            try {
                // after every connect, as the guide asks (the persistent session keeps it anyway)
                client.subscribe(topicPrefix + "/" + uuid + "/commands", 1);
            } catch (MqttException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            JsonNode command;
            try {
                command = JSON.readTree(message.getPayload());
            } catch (IOException e) {
                command = JSON.createObjectNode().put("unparsable", new String(message.getPayload(), StandardCharsets.UTF_8));
            }
            commands.add(command);
            String id = command.path("command_id").asText();
            if (answering && !id.isEmpty() && answered.add(id)) {
                // never on Paho's callback thread
                answers.execute(() -> {
                    ack(id, "accepted");
                    ack(id, "completed");
                });
            }
        }

        @Override
        public void disconnected(MqttDisconnectResponse response) {
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
        }
    }
}
