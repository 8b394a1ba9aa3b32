package org.infoscreen.fleet.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.lifecycle.MqttDisconnectSource;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5ClientBuilder;
import com.hivemq.client.mqtt.mqtt5.message.connect.Mqtt5ConnectBuilder;
import com.hivemq.client.mqtt.mqtt5.message.disconnect.Mqtt5DisconnectReasonCode;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One simulated display, speaking the device side of docs/MQTT_EVENT_PAYLOAD_GUIDE.md over its
 * own MQTT 5 connection (HiveMQ MQTT client on the simulator's shared Netty event loop):
 * client id = its UUID, persistent session (clean start false, session expiry), last will
 * {@code {"state":"offline"}} (QoS 1, retained) on {@code <prefix>/<uuid>/status}; after every
 * CONNACK it subscribes to its commands (QoS 1), publishes {@code {"state":"online"}} (retained)
 * and a health snapshot. Heartbeats and health snapshots follow at the configured intervals, all
 * QoS 1, not retained, with {@code process_status} and {@code boot_id}.
 *
 * <p>Commands are answered like a display does (guide §11): {@code accepted → executing →
 * completed}; a repeated {@code command_id} is acked again without acting; an expired or unknown
 * command is {@code rejected}. {@code restart_app} restarts the app ({@code process_status}
 * back to {@code running}), {@code reboot_host} disconnects and comes back with a new
 * {@code boot_id}, {@code shutdown_host} goes away for good.
 *
 * <p>Faults on demand: {@link #crash()}, {@link #hang()}, {@link #flap(int)},
 * {@link #serviceFailed(String)}, {@link #powerOff()}. All methods are thread-safe and return at
 * once; what the display publishes happens asynchronously.
 */
public final class SimulatedDisplay {

    /** What the display is doing, as the simulator sees it. */
    public enum State {
        /** connecting or reconnecting to the broker */
        CONNECTING,
        /** connected, publishing, answering commands */
        ONLINE,
        /** connected (keep-alive still answered, so no last will) but silent and deaf */
        HUNG,
        /** disconnected for a moment (last will published), reconnects by itself */
        FLAPPING,
        /** rebooting: disconnected, back with a new boot_id */
        REBOOTING,
        /** shut down or powered off: disconnected until {@link #powerOn()} */
        OFF
    }

    private static final Logger LOG = LoggerFactory.getLogger(SimulatedDisplay.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] ONLINE = "{\"state\":\"online\"}".getBytes(StandardCharsets.UTF_8);
    private static final byte[] OFFLINE = "{\"state\":\"offline\"}".getBytes(StandardCharsets.UTF_8);
    private static final int HANDLED_COMMANDS_KEPT = 256;

    private final FleetSimulator fleet;
    private final SimulatorConfig config;
    private final int index;
    private final UUID uuid;
    private final String hostname;
    private final String topicBase;
    private final Random random;
    private final Mqtt5AsyncClient client;
    private final Map<String, String> handledCommands = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > HANDLED_COMMANDS_KEPT;
        }
    };

    private volatile State state = State.CONNECTING;
    private volatile String bootId = UUID.randomUUID().toString();
    private volatile String processStatus = "running";
    private volatile String processStatusAfterRestart = "running";
    private volatile boolean answersCommands = true;
    private volatile Instant processStartedAt = Instant.now();
    private volatile Instant bootedAt = Instant.now();
    private volatile Instant connectedSince;
    private volatile Instant lastDisconnectAt;
    private volatile int reconnectCount;
    private volatile int restartCount;
    private volatile int commandsAnswered;
    private volatile int flapsLeft;
    private volatile boolean closed;

    SimulatedDisplay(FleetSimulator fleet, int index) {
        this.fleet = fleet;
        this.config = fleet.config();
        this.index = index;
        this.uuid = SimulatorConfig.displayUuid(config.seed(), index);
        this.hostname = String.format("sim-display-%04d", index);
        this.topicBase = config.topicPrefix() + "/" + uuid + "/";
        this.random = new Random(config.seed() * 1_000_003L + index);
        Mqtt5ClientBuilder builder = com.hivemq.client.mqtt.MqttClient.builder()
                .useMqttVersion5()
                .identifier(uuid.toString())
                .serverHost(config.brokerHost())
                .serverPort(config.brokerPort())
                .executorConfig(fleet.executorConfig())
                .addConnectedListener(context -> fleet.executor().execute(this::afterConnect))
                .addDisconnectedListener(context -> {
                    if (context.getSource() != MqttDisconnectSource.USER) {
                        // lost the connection: the broker publishes our last will; reconnect with back-off
                        lostConnection();
                        context.getReconnector().reconnect(!closed)
                                .delay(Math.min(10_000, 500L << Math.min(5, context.getReconnector().getAttempts())), TimeUnit.MILLISECONDS);
                    }
                });
        if (config.tls()) {
            builder = builder.sslConfig(fleet.sslConfig());
        }
        this.client = builder.buildAsync();
        // registered before connecting: commands the broker queued in our session arrive right after CONNACK
        client.publishes(MqttGlobalPublishFilter.ALL, this::onMessage);
    }

    // ---- identity and state -------------------------------------------------------------------

    /** @return the display's index in the simulator (1-based unless configured otherwise) */
    public int index() {
        return index;
    }

    /** @return the display's UUID (its MQTT client id and second topic level) */
    public UUID uuid() {
        return uuid;
    }

    /** @return the host name it reports in health snapshots, e.g. {@code sim-display-0007} */
    public String hostname() {
        return hostname;
    }

    /** @return the current boot_id (changes on every reboot or power cycle) */
    public String bootId() {
        return bootId;
    }

    /** @return the process status it reports: running, crashed, starting or stopped */
    public String processStatus() {
        return processStatus;
    }

    /** @return what the simulator knows about the display's state */
    public State state() {
        return state;
    }

    /** @return whether the MQTT connection is up (true also while hung) */
    public boolean connected() {
        return client.getState().isConnected();
    }

    /** @return reconnects so far (as reported in {@code broker_connection.reconnect_count}) */
    public int reconnectCount() {
        return reconnectCount;
    }

    /** @return commands answered so far (each command once, repeats not counted) */
    public int commandsAnswered() {
        return commandsAnswered;
    }

    // ---- behaviour ----------------------------------------------------------------------------

    /**
     * @param status process status the app reports after a {@code restart_app} or a reboot
     *               ({@code running} by default; {@code crashed} = the restart does not help)
     * @return this display
     */
    public SimulatedDisplay afterRestartReports(String status) {
        this.processStatusAfterRestart = status;
        return this;
    }

    /** @param answers whether commands are answered at all (a display with a broken agent: false) */
    public SimulatedDisplay answeringCommands(boolean answers) {
        this.answersCommands = answers;
        return this;
    }

    // ---- faults -------------------------------------------------------------------------------

    /** The app crashes: {@code process_status} becomes {@code crashed}, a health snapshot says so at once; heartbeats go on. */
    public void crash() {
        processStatus = "crashed";
        LOG.info("display {} ({}): app crashed", index, uuid);
        health();
    }

    /**
     * The display hangs: it publishes nothing and answers no command, but its MQTT connection
     * stays up (keep-alive is answered), so the broker publishes no last will. With a
     * configured hang duration it reboots by itself afterwards (a watchdog); {@link #powerCycle()}
     * or {@link #recover()} end it earlier.
     */
    public void hang() {
        if (state != State.ONLINE) {
            return;
        }
        state = State.HUNG;
        LOG.info("display {} ({}): hung (silent, connection kept, no last will)", index, uuid);
        Duration watchdog = config.hangDuration();
        if (!watchdog.isZero()) {
            fleet.scheduler().schedule(() -> {
                if (state == State.HUNG) {
                    reboot("watchdog");
                }
            }, watchdog.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * The connection flaps {@code times} times: each time the display drops the connection so that
     * the broker publishes its last will (MQTT 5 DISCONNECT reason 0x04, "disconnect with will
     * message"), stays away for the configured flap downtime and reconnects; the reconnect count
     * and last disconnect time it reports grow accordingly.
     *
     * @param times number of disconnects (≥ 1)
     */
    public void flap(int times) {
        if (times < 1 || state != State.ONLINE) {
            return;
        }
        flapsLeft = times;
        LOG.info("display {} ({}): connection flapping {} time(s)", index, uuid, times);
        flapOnce();
    }

    private void flapOnce() {
        state = State.FLAPPING;
        dropWithWill().whenComplete((v, e) -> fleet.scheduler().schedule(() -> {
            if (closed || state != State.FLAPPING) {
                return;
            }
            connect();
        }, config.flapDowntime().toMillis(), TimeUnit.MILLISECONDS));
    }

    /** A systemd unit fails: one {@code service_failed} message with a fresh {@code event_id}. */
    public void serviceFailed(String unit) {
        ObjectNode m = JSON.createObjectNode();
        m.put("ts", now());
        m.put("event_id", UUID.randomUUID().toString());
        m.put("unit", unit);
        m.put("result", "exit-code");
        m.put("exit_status", 1);
        LOG.info("display {} ({}): unit {} failed", index, uuid, unit);
        publish("service_failed", m);
    }

    /** Power is cut: the connection drops without DISCONNECT semantics (the broker publishes the last will); silent until {@link #powerOn()}. */
    public void powerOff() {
        if (state == State.OFF) {
            return;
        }
        state = State.OFF;
        LOG.info("display {} ({}): power off", index, uuid);
        dropWithWill();
    }

    /** Power comes back (e.g. a smart plug switched on): a new boot, a new {@code boot_id}, the app running. */
    public void powerOn() {
        if (state != State.OFF && state != State.HUNG) {
            return;
        }
        CompletableFuture<Void> down = state == State.HUNG ? dropWithWill() : CompletableFuture.completedFuture(null);
        state = State.OFF;
        down.whenComplete((v, e) -> {
            newBoot();
            LOG.info("display {} ({}): powered on, boot_id {}", index, uuid, bootId);
            connect();
        });
    }

    /** Power off, then on after the configured reboot duration. */
    public void powerCycle() {
        powerOff();
        fleet.scheduler().schedule(this::powerOn, config.rebootDuration().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Ends a crash or a hang without a reboot: the app runs again and says so in a health snapshot. */
    public void recover() {
        if (state == State.HUNG) {
            state = State.ONLINE;
        }
        processStatus = "running";
        health();
    }

    // ---- connection -----------------------------------------------------------------------------

    /** Connects (asynchronously); the rest follows in {@link #afterConnect()}. */
    void connect() {
        if (closed) {
            return;
        }
        if (state != State.HUNG) {
            state = State.CONNECTING;
        }
        Mqtt5ConnectBuilder.Send<CompletableFuture<com.hivemq.client.mqtt.mqtt5.message.connect.connack.Mqtt5ConnAck>> connect =
                client.connectWith()
                        .cleanStart(false)
                        .sessionExpiryInterval(config.sessionExpiry().toSeconds())
                        .keepAlive((int) config.keepAlive().toSeconds())
                        .willPublish()
                        .topic(topicBase + "status")
                        .qos(MqttQos.AT_LEAST_ONCE)
                        .retain(true)
                        .payload(OFFLINE)
                        .contentType("application/json")
                        .applyWillPublish();
        String user = config.userName();
        if (user != null) {
            var auth = connect.simpleAuth().username(user.replace("{uuid}", uuid.toString()));
            if (config.password() != null) {
                auth = auth.password(config.password().getBytes(StandardCharsets.UTF_8));
            }
            connect = auth.applySimpleAuth();
        }
        connect.send().whenComplete((ack, e) -> {
            if (e != null) {
                LOG.warn("display {} ({}): connect to {} failed: {}; retrying", index, uuid, config.brokerUrl(), e.getMessage());
                if (!closed) {
                    fleet.scheduler().schedule(this::connect, 2, TimeUnit.SECONDS);
                }
            }
        });
    }

    /** After every CONNACK (guide §9): subscribe to commands, publish online (retained), then a health snapshot. */
    private void afterConnect() {
        if (closed) {
            return;
        }
        connectedSince = Instant.now();
        client.subscribeWith().topicFilter(topicBase + "commands").qos(MqttQos.AT_LEAST_ONCE).send()
                .whenComplete((subAck, e) -> {
                    if (e != null) {
                        LOG.warn("display {} ({}): subscribe failed: {}", index, uuid, e.getMessage());
                    }
                });
        if (state == State.HUNG) {
            return;
        }
        fleet.publishing(client.publishWith().topic(topicBase + "status").qos(MqttQos.AT_LEAST_ONCE).retain(true)
                .payload(ONLINE).contentType("application/json").send());
        state = State.ONLINE;
        health();
        if (flapsLeft > 0 && --flapsLeft > 0) {
            fleet.scheduler().schedule(() -> {
                if (state == State.ONLINE) {
                    flapOnce();
                }
            }, config.flapDowntime().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void lostConnection() {
        reconnectCount++;
        lastDisconnectAt = Instant.now();
        if (state == State.ONLINE) {
            state = State.CONNECTING;
        }
    }

    /** Drops the connection so that the broker publishes the last will (DISCONNECT reason 0x04). */
    private CompletableFuture<Void> dropWithWill() {
        reconnectCount++;
        lastDisconnectAt = Instant.now();
        return client.disconnectWith().reasonCode(Mqtt5DisconnectReasonCode.DISCONNECT_WITH_WILL_MESSAGE).send()
                .exceptionally(e -> null);
    }

    /** A graceful goodbye (guide §9): {@code offline} (retained) first, then a normal DISCONNECT (no last will). */
    private CompletableFuture<Void> goodbye() {
        if (!client.getState().isConnected()) {
            return CompletableFuture.completedFuture(null);
        }
        return client.publishWith().topic(topicBase + "status").qos(MqttQos.AT_LEAST_ONCE).retain(true)
                .payload(OFFLINE).contentType("application/json").send()
                .handle((r, e) -> null)
                .thenCompose(v -> client.disconnect())
                .exceptionally(e -> null);
    }

    private void reboot(String why) {
        state = State.REBOOTING;
        LOG.info("display {} ({}): rebooting ({})", index, uuid, why);
        goodbye().whenComplete((v, e) -> fleet.scheduler().schedule(() -> {
            if (closed) {
                return;
            }
            newBoot();
            connect();
        }, config.rebootDuration().toMillis(), TimeUnit.MILLISECONDS));
    }

    private void newBoot() {
        bootId = UUID.randomUUID().toString();
        bootedAt = Instant.now();
        processStartedAt = bootedAt;
        processStatus = processStatusAfterRestart;
    }

    /** Says goodbye (offline, retained) and disconnects; the display stays away. */
    CompletableFuture<Void> close() {
        closed = true;
        CompletableFuture<Void> bye = goodbye();
        state = State.OFF;
        return bye;
    }

    // ---- what it publishes ----------------------------------------------------------------------

    /** Publishes a heartbeat (guide §3) unless the display is not online. */
    public void heartbeat() {
        if (state != State.ONLINE) {
            return;
        }
        publish("heartbeat", heartbeatPayload());
    }

    /** Publishes a full health snapshot (guide §4) unless the display is not online. */
    public void health() {
        if (state != State.ONLINE) {
            return;
        }
        ObjectNode h = JSON.createObjectNode();
        h.put("ts", now());
        h.put("process_status", processStatus);
        h.put("boot_id", bootId);
        h.put("hostname", hostname);
        h.put("ip", "10.99." + (index / 250 % 250) + "." + (index % 250 + 1));
        h.put("app_version", "3.4.1-sim");
        Instant t = Instant.now();
        ObjectNode process = h.putObject("process");
        process.put("name", "infoscreen-player");
        process.put("pid", 800 + restartCount);
        process.put("uptime_s", Duration.between(processStartedAt, t).toSeconds());
        process.put("restart_count", restartCount);
        process.put("cpu_percent", Math.round(random.nextDouble() * 200) / 10.0);
        process.put("memory_rss_bytes", 150_000_000L + random.nextInt(50_000_000));
        ObjectNode system = h.putObject("system");
        system.put("uptime_s", Duration.between(bootedAt, t).toSeconds());
        system.put("load_avg_1m", Math.round(random.nextDouble() * 150) / 100.0);
        system.put("cpu_temp_c", 45 + Math.round(random.nextDouble() * 150) / 10.0);
        system.put("memory_used_percent", 30 + Math.round(random.nextDouble() * 200) / 10.0);
        system.put("disk_used_percent", 55 + Math.round(random.nextDouble() * 100) / 10.0);
        ObjectNode broker = h.putObject("broker_connection");
        broker.put("reconnect_count", reconnectCount);
        if (lastDisconnectAt != null) {
            broker.put("last_disconnect_at", lastDisconnectAt.truncatedTo(ChronoUnit.MILLIS).toString());
        }
        if (connectedSince != null) {
            broker.put("connected_since", connectedSince.truncatedTo(ChronoUnit.MILLIS).toString());
        }
        publish("health", h);
    }

    /** @return a heartbeat payload with the current time, process status and boot_id */
    byte[] heartbeatPayload() {
        return ("{\"ts\":\"" + now() + "\",\"process_status\":\"" + processStatus + "\",\"boot_id\":\"" + bootId + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Publishes a heartbeat for a load run and reports when the broker acknowledged it.
     *
     * @return completes with {@code true} on PUBACK, {@code false} on failure; never exceptionally
     */
    CompletableFuture<Boolean> loadHeartbeat() {
        return fleet.publishing(client.publishWith().topic(topicBase + "heartbeat").qos(MqttQos.AT_LEAST_ONCE)
                .payload(heartbeatPayload()).send());
    }

    private void publish(String kind, ObjectNode payload) {
        publish(kind, payload.toString().getBytes(StandardCharsets.UTF_8));
    }

    private CompletableFuture<Boolean> publish(String kind, byte[] payload) {
        if (state != State.ONLINE && !kind.equals("commands/ack")) {
            return CompletableFuture.completedFuture(false);
        }
        return fleet.publishing(client.publishWith().topic(topicBase + kind).qos(MqttQos.AT_LEAST_ONCE)
                .payload(payload).contentType("application/json").send());
    }

    private static String now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS).toString();
    }

    // ---- commands --------------------------------------------------------------------------------

    private void onMessage(Mqtt5Publish message) {
        if (!message.getTopic().toString().equals(topicBase + "commands")) {
            return;
        }
        byte[] payload = message.getPayloadAsBytes();
        String responseTopic = message.getResponseTopic().map(Object::toString).orElse(topicBase + "commands/ack");
        fleet.executor().execute(() -> onCommand(payload, responseTopic));
    }

    private void onCommand(byte[] payload, String responseTopic) {
        if (state == State.HUNG || state == State.OFF || !answersCommands || closed) {
            return;
        }
        JsonNode command;
        try {
            command = JSON.readTree(payload);
        } catch (java.io.IOException e) {
            LOG.warn("display {} ({}): command is not JSON, ignored", index, uuid);
            return;
        }
        String id = command.path("command_id").asText("");
        String action = command.path("action").asText("");
        if (id.isEmpty()) {
            return;
        }
        String done;
        synchronized (handledCommands) {
            done = handledCommands.get(id);
            if (done == null) {
                handledCommands.put(id, "accepted");
            }
        }
        if (done != null) {
            // the same command again (QoS 1 duplicate, re-publish): ack where it stands, act once
            ack(responseTopic, id, done, "repeat of a command already handled");
            return;
        }
        commandsAnswered++;
        fleet.commandAnswered();
        Instant expiresAt = parseInstant(command.path("expires_at").asText(null));
        if (expiresAt != null && expiresAt.isBefore(Instant.now())) {
            finish(responseTopic, id, "rejected", "expires_at has passed");
            return;
        }
        LOG.info("display {} ({}): command {} {}", index, uuid, action, id);
        switch (action) {
            case "restart_app" -> steps(responseTopic, id, () -> {
                restartCount++;
                processStartedAt = Instant.now();
                processStatus = processStatusAfterRestart;
                finish(responseTopic, id, "completed", "player restarted");
                health();
            });
            case "reboot_host" -> steps(responseTopic, id, () -> {
                // guide §11.2: completed right before rebooting; the new boot_id confirms it
                finish(responseTopic, id, "completed", "rebooting");
                reboot("reboot_host " + id);
            });
            case "shutdown_host" -> steps(responseTopic, id, () -> {
                finish(responseTopic, id, "completed", "shutting down");
                state = State.OFF;
                goodbye();
            });
            default -> finish(responseTopic, id, "rejected", "unknown action '" + action + "'");
        }
    }

    /** accepted now, executing after the step delay, then {@code last} after another step delay. */
    private void steps(String responseTopic, String id, Runnable last) {
        ack(responseTopic, id, "accepted", null);
        long delay = config.commandStepDelay().toMillis();
        fleet.scheduler().schedule(() -> {
            remember(id, "executing");
            ack(responseTopic, id, "executing", null);
            fleet.scheduler().schedule(last, delay, TimeUnit.MILLISECONDS);
        }, delay, TimeUnit.MILLISECONDS);
    }

    private void finish(String responseTopic, String id, String status, String detail) {
        remember(id, status);
        ack(responseTopic, id, status, detail);
    }

    private void remember(String id, String status) {
        synchronized (handledCommands) {
            handledCommands.put(id, status);
        }
    }

    private void ack(String responseTopic, String id, String status, String detail) {
        ObjectNode a = JSON.createObjectNode();
        a.put("command_id", id);
        a.put("status", status);
        if (detail != null) {
            a.put("detail", detail);
        }
        a.put("boot_id", bootId);
        a.put("ts", now());
        fleet.publishing(client.publishWith().topic(responseTopic).qos(MqttQos.AT_LEAST_ONCE)
                .payload(a.toString().getBytes(StandardCharsets.UTF_8)).contentType("application/json").send());
    }

    private static Instant parseInstant(String text) {
        if (text == null) {
            return null;
        }
        try {
            return java.time.OffsetDateTime.parse(text).toInstant();
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return "display " + index + " (" + uuid + ", " + state + ")";
    }
}
