package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A scripted display for the command tests: its own MQTT 5 connection to the test broker, a
 * subscription to {@code <prefix>/<uuid>/commands}, a record of every command it received with
 * its MQTT 5 properties, and answers like the real display agent:
 * <ul>
 *   <li>acks on the message's response topic, echoing {@code command_id} and its current
 *       {@code boot_id}: by default {@code accepted → executing → completed};</li>
 *   <li>{@code restart_app}: after {@code completed} it reports a health snapshot with the
 *       process status its app has after a restart ({@code running}, or {@code crashed} for a
 *       display that keeps crashing);</li>
 *   <li>{@code reboot_host}: after acking it "reboots": a new {@code boot_id} and a health
 *       snapshot from the new boot (unless told not to come back);</li>
 *   <li>configurable: silent (records, never answers), only some statuses, or acks sent late by
 *       the test itself with {@link #ack(String, String)}.</li>
 * </ul>
 * Answers run on the display's own thread, in order, never on Paho's callback thread.
 */
final class TestDisplay implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One command message as the display received it. */
    record Received(String topic, JsonNode payload, int qos, boolean retained, MqttProperties properties, Instant at) {

        String commandId() {
            return payload.path("command_id").asText();
        }

        String action() {
            return payload.path("action").asText();
        }

        /** @return the MQTT 5 message expiry interval in seconds, or null when the broker sent none */
        Long messageExpiryInterval() {
            return properties == null ? null : properties.getMessageExpiryInterval();
        }

        String responseTopic() {
            return properties == null ? null : properties.getResponseTopic();
        }

        String correlationData() {
            return properties == null || properties.getCorrelationData() == null ? null
                    : new String(properties.getCorrelationData(), StandardCharsets.UTF_8);
        }
    }

    private final String brokerUrl;
    private final String topicPrefix;
    private final UUID uuid;
    private final String hostname;
    private final boolean persistentSession;
    private final ScheduledExecutorService worker;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private MqttClient client;
    private ScheduledFuture<?> beating;
    private MqttConnectionOptions login;

    private volatile List<String> answers = List.of("accepted", "executing", "completed");
    private volatile java.util.function.Predicate<String> answerGate = id -> true;
    private volatile String processStatus = "running";
    private volatile String statusAfterRestart = "running";
    private volatile boolean comesBackAfterReboot = true;
    private volatile String bootId = "boot-" + UUID.randomUUID();

    /**
     * @param brokerUrl         broker the service uses
     * @param topicPrefix       the service's topic prefix
     * @param uuid              the display's client UUID
     * @param persistentSession {@code false}: clean start (the default display); {@code true}: a
     *                          session the broker keeps for 300 s while the display is away
     */
    TestDisplay(String brokerUrl, String topicPrefix, UUID uuid, boolean persistentSession) {
        this.brokerUrl = brokerUrl;
        this.topicPrefix = topicPrefix;
        this.uuid = uuid;
        this.hostname = "display-" + uuid.toString().substring(0, 8);
        this.persistentSession = persistentSession;
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, hostname);
            t.setDaemon(true);
            return t;
        });
    }

    /** A clean-start display, connected and subscribed, that has not said anything yet. */
    static TestDisplay connect(String brokerUrl, String topicPrefix, UUID uuid) {
        return new TestDisplay(brokerUrl, topicPrefix, uuid, false).connect();
    }

    /**
     * A clean-start display that logs in with the user name, password and socket factory (TLS) of
     * {@code login}, e.g. {@code broker.clientOptions(uuid.toString(), broker.password(uuid.toString()), true)}
     * of a {@link MosquittoProcess}.
     */
    static TestDisplay connect(String brokerUrl, String topicPrefix, UUID uuid, MqttConnectionOptions login) {
        TestDisplay d = new TestDisplay(brokerUrl, topicPrefix, uuid, false);
        d.login = login;
        return d.connect();
    }

    UUID uuid() {
        return uuid;
    }

    String hostname() {
        return hostname;
    }

    String bootId() {
        return bootId;
    }

    // ---- behaviour -----------------------------------------------------------------------

    /** Answers every command with these ack statuses, in order; none = silent. */
    TestDisplay answering(String... statuses) {
        this.answers = List.of(statuses);
        return this;
    }

    /**
     * Answers a command only once {@code ready} holds for its id (waited for up to 10 s), e.g. once
     * the service has recorded the broker's PUBACK: a real display's ack can overtake that mark,
     * which tests of the exact transition sequence must rule out.
     */
    TestDisplay answeringOnlyWhen(java.util.function.Predicate<String> ready) {
        this.answerGate = ready;
        return this;
    }

    /** Records commands but never answers them. */
    TestDisplay silent() {
        return answering();
    }

    /** The process status the app reports after a restart_app or a reboot ({@code running} by default). */
    TestDisplay afterRestartReports(String status) {
        this.statusAfterRestart = status;
        return this;
    }

    /** Whether a reboot_host ends with a health snapshot from a new boot (true by default). */
    TestDisplay comesBackAfterReboot(boolean comesBack) {
        this.comesBackAfterReboot = comesBack;
        return this;
    }

    /**
     * The display got its power back after a power cycle: it boots (a new boot_id), reports a
     * health snapshot and beats again every {@code interval}.
     */
    void bootsAfterPowerCycle(Duration interval) {
        bootId = "boot-" + UUID.randomUUID();
        health("running");
        keepBeating(interval);
    }

    // ---- connection ----------------------------------------------------------------------

    /** Connects (clean start unless persistent) and subscribes to its commands topic at QoS 2. */
    synchronized TestDisplay connect() {
        try {
            if (client == null) {
                client = new MqttClient(brokerUrl, "display-" + uuid, new MemoryPersistence());
                client.setCallback(new Callback());
            }
            MqttConnectionOptions o = new MqttConnectionOptions();
            o.setCleanStart(!persistentSession);
            if (persistentSession) {
                o.setSessionExpiryInterval(300L);
            }
            o.setAutomaticReconnect(false);
            if (login != null) {
                o.setUserName(login.getUserName());
                o.setPassword(login.getPassword());
                o.setSocketFactory(login.getSocketFactory());
                o.setHttpsHostnameVerificationEnabled(login.isHttpsHostnameVerificationEnabled());
            }
            client.connect(o);
            // QoS 2 subscription: the received QoS is then exactly the QoS the service published with
            client.subscribe(commandsTopic(), 2);
            return this;
        } catch (MqttException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Leaves the broker (a normal DISCONNECT: no last will); a persistent session stays. */
    synchronized void disconnect() {
        stopBeating();
        try {
            if (client != null && client.isConnected()) {
                client.disconnect();
            }
        } catch (MqttException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized void close() {
        disconnect();
        worker.shutdownNow();
        try {
            if (client != null) {
                client.close();
            }
        } catch (MqttException e) {
            // closing a test client
        }
    }

    String commandsTopic() {
        return topicPrefix + "/" + uuid + "/commands";
    }

    // ---- what it says --------------------------------------------------------------------

    /** Publishes a health snapshot with this process status, hostname and the current boot_id. */
    void health(String processStatus) {
        this.processStatus = processStatus;
        ObjectNode h = JSON.createObjectNode();
        h.put("hostname", hostname);
        h.put("process_status", processStatus);
        h.put("boot_id", bootId);
        h.put("app_version", "9.9.9");
        publish("health", h.toString());
    }

    /** Publishes a heartbeat with the current boot_id. */
    void heartbeat() {
        publish("heartbeat", "{\"boot_id\":\"" + bootId + "\"}");
    }

    /** Sends a heartbeat every {@code interval} until {@link #stopBeating()} (the display stays alive). */
    synchronized void keepBeating(Duration interval) {
        stopBeating();
        beating = worker.scheduleAtFixedRate(this::heartbeatQuietly, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Stops the heartbeats: the display turns silent (and stale after the threshold). */
    synchronized void stopBeating() {
        if (beating != null) {
            beating.cancel(false);
            beating = null;
        }
    }

    /** Acks a command on {@code <prefix>/<uuid>/commands/ack} with the current boot_id. */
    void ack(String commandId, String status) {
        ack(commandId, status, null);
    }

    /** Acks a command with a detail text. */
    void ack(String commandId, String status, String detail) {
        publishRaw(topicPrefix + "/" + uuid + "/commands/ack", ackPayload(commandId, status, detail));
    }

    /** Publishes {@code payload} at QoS 1 to {@code <prefix>/<uuid>/<kind>} and waits for the PUBACK. */
    void publish(String kind, String payload) {
        publishRaw(topicPrefix + "/" + uuid + "/" + kind, payload);
    }

    private void publishRaw(String topic, String payload) {
        try {
            MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
            m.setQos(1);
            client.publish(topic, m);
        } catch (MqttException e) {
            throw new IllegalStateException("display " + hostname + " cannot publish to " + topic, e);
        }
    }

    private String ackPayload(String commandId, String status, String detail) {
        ObjectNode a = JSON.createObjectNode();
        a.put("command_id", commandId);
        a.put("status", status);
        if (detail != null) {
            a.put("detail", detail);
        }
        a.put("boot_id", bootId);
        return a.toString();
    }

    private void heartbeatQuietly() {
        try {
            heartbeat();
        } catch (RuntimeException e) {
            // disconnected meanwhile: the next beat (or none) follows
        }
    }

    // ---- what it heard -------------------------------------------------------------------

    /** @return every command received so far, oldest first */
    List<Received> received() {
        return List.copyOf(received);
    }

    /** @return the received command with this id, if any */
    Optional<Received> received(String commandId) {
        return received.stream().filter(r -> commandId.equals(r.commandId())).findFirst();
    }

    /** @return how many times a command with this id arrived */
    long timesReceived(String commandId) {
        return received.stream().filter(r -> commandId.equals(r.commandId())).count();
    }

    // ---- answering -----------------------------------------------------------------------

    private void answer(Received command) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> answerGate.test(command.commandId()));
        String responseTopic = command.responseTopic() != null ? command.responseTopic()
                : topicPrefix + "/" + uuid + "/commands/ack";
        for (String status : answers) {
            publishRaw(responseTopic, ackPayload(command.commandId(), status, "test display: " + status));
        }
        if (!answers.contains("completed")) {
            return;
        }
        switch (command.action()) {
            case "restart_app" -> health(statusAfterRestart);
            case "reboot_host" -> {
                if (comesBackAfterReboot) {
                    bootId = "boot-" + UUID.randomUUID();
                    health(statusAfterRestart);
                }
            }
            default -> {
                // shutdown_host: the display goes away
            }
        }
    }

    private final class Callback implements MqttCallback {

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            JsonNode payload;
            try {
                payload = JSON.readTree(message.getPayload());
            } catch (IOException e) {
                payload = JSON.createObjectNode().put("unparsable", new String(message.getPayload(), StandardCharsets.UTF_8));
            }
            Received r = new Received(topic, payload, message.getQos(), message.isRetained(), message.getProperties(), Instant.now());
            received.add(r);
            if (!answers.isEmpty()) {
                worker.execute(() -> answer(r));
            }
        }

        @Override
        public void disconnected(MqttDisconnectResponse disconnectResponse) {
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
        }

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
        }
    }
}
