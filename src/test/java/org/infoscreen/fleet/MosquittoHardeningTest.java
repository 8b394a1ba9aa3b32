package org.infoscreen.fleet;

import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The project's hardened {@code mosquitto/} configuration, against a real mosquitto: no
 * anonymous login, no wrong password, the ACL per role (displays, service, monitor), the size
 * limit, and the plain listener only on loopback and closable. Mosquitto accepts a denied
 * SUBSCRIBE and answers a denied PUBLISH with 0x87 at most, so every restriction is asserted on
 * what a subscriber receives, with a permitted message sent afterwards on the same connection as
 * the marker that everything before it has been delivered (QoS 1 keeps the order).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MosquittoHardeningTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private final UUID a = UUID.randomUUID();
    private final UUID b = UUID.randomUUID();
    private MosquittoProcess broker;
    private final List<MqttClient> clients = new ArrayList<>();

    @BeforeAll
    void startBroker() {
        broker = MosquittoProcess.start(new MosquittoProcess.Options().devices(a, b));
    }

    @AfterAll
    void stopBroker() {
        for (MqttClient c : clients) {
            try {
                if (c.isConnected()) {
                    c.disconnect();
                }
                c.close();
            } catch (MqttException e) {
                // closing anyway
            }
        }
        if (broker != null) {
            broker.close();
        }
    }

    /** A client over the TLS listener (as displays connect), collecting what it receives. */
    private final class Client {
        final MqttClient mqtt;
        final List<String> received = new CopyOnWriteArrayList<>();

        Client(String user, String password, String... subscriptions) throws MqttException {
            mqtt = new MqttClient(broker.tlsUrl(), "t-" + UUID.randomUUID(), new MemoryPersistence());
            clients.add(mqtt);
            mqtt.setCallback(new CollectingCallback(received));
            mqtt.connect(broker.clientOptions(user, password, true));
            for (String s : subscriptions) {
                mqtt.subscribe(s, 1);
            }
        }

        void publish(String topic, String payload) throws MqttException {
            MqttMessage m = new MqttMessage(payload.getBytes(StandardCharsets.UTF_8));
            m.setQos(1);
            mqtt.publish(topic, m);
        }
    }

    /** Adds every received message as {@code "<topic> <payload>"}. */
    static final class CollectingCallback implements org.eclipse.paho.mqttv5.client.MqttCallback {
        private final List<String> received;

        CollectingCallback(List<String> received) {
            this.received = received;
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            received.add(topic + " " + new String(message.getPayload(), StandardCharsets.UTF_8));
        }

        @Override
        public void disconnected(org.eclipse.paho.mqttv5.client.MqttDisconnectResponse response) {
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
        }

        @Override
        public void deliveryComplete(org.eclipse.paho.mqttv5.client.IMqttToken token) {
        }

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
        }

        @Override
        public void authPacketArrived(int reasonCode, org.eclipse.paho.mqttv5.common.packet.MqttProperties properties) {
        }
    }

    private Client service(String... subscriptions) throws MqttException {
        return new Client(MosquittoProcess.SERVICE_USER, broker.password(MosquittoProcess.SERVICE_USER), subscriptions);
    }

    private Client device(UUID uuid, String... subscriptions) throws MqttException {
        return new Client(uuid.toString(), broker.password(uuid.toString()), subscriptions);
    }

    private static String topic(UUID uuid, String kind) {
        return "infoscreen/" + uuid + "/" + kind;
    }

    /** @return 0 when the login succeeds, else the reason code of the refusal (0x87: not authorized) */
    static int connectReasonCode(String url, MqttConnectionOptions options) {
        MqttClient c = null;
        try {
            c = new MqttClient(url, "t-" + UUID.randomUUID(), new MemoryPersistence());
            c.connect(options);
            c.disconnect();
            return 0;
        } catch (MqttException e) {
            return e.getReasonCode();
        } finally {
            if (c != null) {
                try {
                    c.close(true);
                } catch (MqttException e) {
                    // closed anyway
                }
            }
        }
    }

    @Test
    void anonymousLoginIsRefusedOnBothListeners() {
        assertThat(connectReasonCode(broker.tlsUrl(), broker.clientOptions(null, null, true))).isEqualTo(0x87);
        assertThat(connectReasonCode(broker.url(), broker.clientOptions(null, null, false))).isEqualTo(0x87);
    }

    @Test
    void wrongPasswordIsRefusedAndTheRightOneAccepted() {
        assertThat(connectReasonCode(broker.tlsUrl(),
                broker.clientOptions(MosquittoProcess.SERVICE_USER, "not-the-password", true))).isEqualTo(0x87);
        assertThat(connectReasonCode(broker.tlsUrl(),
                broker.clientOptions(a.toString(), broker.password(b.toString()), true))).isEqualTo(0x87);
        assertThat(connectReasonCode(broker.tlsUrl(),
                broker.clientOptions(MosquittoProcess.SERVICE_USER, broker.password(MosquittoProcess.SERVICE_USER), true))).isZero();
    }

    @Test
    void deviceCannotPublishAnotherDevicesTopicsNorAnyCommand() throws Exception {
        Client service = service("infoscreen/#");
        Client deviceA = device(a);
        deviceA.publish(topic(b, "heartbeat"), "spoofed");
        deviceA.publish(topic(b, "health"), "spoofed");
        deviceA.publish(topic(b, "status"), "spoofed");
        deviceA.publish(topic(b, "commands/ack"), "spoofed");
        deviceA.publish(topic(b, "commands"), "spoofed");
        deviceA.publish(topic(a, "commands"), "spoofed");
        deviceA.publish(topic(a, "something_else"), "spoofed");
        deviceA.publish("infoscreen/_service/probe", "spoofed");
        // permitted: its own topics; the last one marks that everything before was delivered
        deviceA.publish(topic(a, "health"), "own");
        deviceA.publish(topic(a, "service_failed"), "own");
        deviceA.publish(topic(a, "commands/ack"), "own");
        deviceA.publish(topic(a, "heartbeat"), "marker");

        await().atMost(WAIT).until(() -> service.received.contains(topic(a, "heartbeat") + " marker"));
        assertThat(service.received).containsExactly(
                topic(a, "health") + " own", topic(a, "service_failed") + " own", topic(a, "commands/ack") + " own",
                topic(a, "heartbeat") + " marker");
    }

    @Test
    void deviceReadsOnlyItsOwnCommands() throws Exception {
        Client deviceA = device(a, topic(b, "commands"), "infoscreen/+/commands", "infoscreen/#", "#", topic(a, "commands"));
        Client deviceB = device(b, topic(b, "commands"));
        Client service = service();
        service.publish(topic(b, "commands"), "for-b");
        service.publish(topic(a, "commands"), "for-a");

        await().atMost(WAIT).until(() -> deviceA.received.contains(topic(a, "commands") + " for-a"));
        await().atMost(WAIT).until(() -> deviceB.received.contains(topic(b, "commands") + " for-b"));
        assertThat(deviceA.received).allMatch(m -> m.equals(topic(a, "commands") + " for-a"));
        // nor can it read the other display's reports
        deviceB.publish(topic(b, "heartbeat"), "beat");
        service.publish(topic(a, "commands"), "marker");
        await().atMost(WAIT).until(() -> deviceA.received.contains(topic(a, "commands") + " marker"));
        assertThat(deviceA.received).noneMatch(m -> m.contains(b.toString()));
    }

    /** The topics the device patterns ({@code pattern ... infoscreen/%u/...}) would open to any user name. */
    private static final String[] DEVICE_REPORTS = {"heartbeat", "health", "status", "service_failed", "commands/ack"};

    @Test
    void serviceWritesCommandsAndItsProbeTopicButNoDeviceReport() throws Exception {
        Client monitor = new Client(MosquittoProcess.MONITOR_USER, broker.password(MosquittoProcess.MONITOR_USER), "infoscreen/#");
        Client service = service("infoscreen/_service/#");
        service.publish(topic(a, "heartbeat"), "spoofed");
        // the device patterns apply to every user name: not to the service's own
        for (String report : DEVICE_REPORTS) {
            service.publish("infoscreen/" + MosquittoProcess.SERVICE_USER + "/" + report, "spoofed");
        }
        service.publish(topic(a, "commands"), "command");
        // the self-probe as the service sends it: <prefix>/_service/probe/<client id>
        String probe = "infoscreen/_service/probe/infoscreen-fleet-1-probe";
        service.publish(probe, "probe");

        await().atMost(WAIT).until(() -> service.received.contains(probe + " probe"));
        await().atMost(WAIT).until(() -> monitor.received.contains(probe + " probe"));
        assertThat(monitor.received).containsExactly(topic(a, "commands") + " command", probe + " probe");
    }

    @Test
    void monitorReadsEverythingAndWritesNothing() throws Exception {
        Client monitor = new Client(MosquittoProcess.MONITOR_USER, broker.password(MosquittoProcess.MONITOR_USER), "infoscreen/#");
        Client service = service("infoscreen/#");
        monitor.publish(topic(a, "commands"), "from-monitor");
        monitor.publish(topic(a, "heartbeat"), "from-monitor");
        monitor.publish("infoscreen/_service/probe", "from-monitor");
        // the device patterns apply to every user name: not to the monitor's own
        for (String report : DEVICE_REPORTS) {
            monitor.publish("infoscreen/" + MosquittoProcess.MONITOR_USER + "/" + report, "from-monitor");
        }
        Client deviceA = device(a);
        deviceA.publish(topic(a, "heartbeat"), "marker");

        await().atMost(WAIT).until(() -> monitor.received.contains(topic(a, "heartbeat") + " marker")
                && service.received.contains(topic(a, "heartbeat") + " marker"));
        assertThat(service.received).containsExactly(topic(a, "heartbeat") + " marker");
        assertThat(monitor.received).containsExactly(topic(a, "heartbeat") + " marker");
    }

    @Test
    void payloadOverTheSizeLimitIsNotDelivered() throws Exception {
        Client service = service("infoscreen/#");
        Client deviceA = device(a);
        try {
            deviceA.publish(topic(a, "health"), "x".repeat(300 * 1024));
        } catch (MqttException e) {
            // mosquitto may refuse it with a reason code; either way it must not be delivered
        }
        Client again = device(a);
        again.publish(topic(a, "heartbeat"), "marker");
        await().atMost(WAIT).until(() -> service.received.contains(topic(a, "heartbeat") + " marker"));
        assertThat(service.received).containsExactly(topic(a, "heartbeat") + " marker");
    }

    @Test
    void plainListenerAnswersOnLoopbackOnly() throws Exception {
        assertThat(Files.readString(Path.of("mosquitto/conf.d/plain-listener.conf"))).containsPattern("(?m)^listener 1883 127\\.0\\.0\\.1$");
        assertThat(connectReasonCode(broker.url(),
                broker.clientOptions(MosquittoProcess.SERVICE_USER, broker.password(MosquittoProcess.SERVICE_USER), false))).isZero();
        Optional<InetAddress> external = externalAddress();
        if (external.isPresent()) {
            try (Socket s = new Socket()) {
                assertThatThrownBy(() -> s.connect(new InetSocketAddress(external.get(), broker.plainPort()), 1000))
                        .isInstanceOf(java.io.IOException.class);
            }
        }
    }

    @Test
    void removingThePlainListenerSnippetClosesPort1883() throws Exception {
        try (MosquittoProcess tlsOnly = MosquittoProcess.start(new MosquittoProcess.Options().plainListener(false))) {
            assertThat(TestServices.answers("127.0.0.1", tlsOnly.plainPort())).isFalse();
            assertThat(connectReasonCode(tlsOnly.tlsUrl(),
                    tlsOnly.clientOptions(MosquittoProcess.SERVICE_USER, tlsOnly.password(MosquittoProcess.SERVICE_USER), true))).isZero();
        }
    }

    /** Runs a script of {@code mosquitto/} with stdin closed (no terminal); @return exit code, stdout, stderr */
    private static String[] script(Map<String, String> env, String... command) throws Exception {
        List<String> c = new ArrayList<>(List.of(Path.of("mosquitto", command[0]).toAbsolutePath().toString()));
        c.addAll(List.of(command).subList(1, command.length));
        ProcessBuilder pb = new ProcessBuilder(c);
        pb.environment().putAll(env);
        Path err = Files.createTempFile("fleet-script", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        String[] result = {String.valueOf(p.exitValue()), out, Files.readString(err)};
        Files.delete(err);
        return result;
    }

    @Test
    void addDeviceGenerateWritesTheEntryAndPrintsThePasswordOnce() throws Exception {
        UUID c = UUID.randomUUID();
        Map<String, String> env = Map.of("PASSWD_FILE", broker.passwdFile().toString());
        String[] r = script(env, "add-device.sh", "--generate", c.toString().toUpperCase());
        assertThat(r[0]).as(r[2]).isEqualTo("0");
        // stdout: the password and nothing else; the file holds only its hash
        assertThat(r[1]).matches("[A-Za-z0-9]{32}\n");
        String password = r[1].strip();
        String entries = Files.readString(broker.passwdFile());
        assertThat(entries).contains(c + ":").doesNotContain(password);
        assertThat(r[2]).contains(c.toString()).doesNotContain(password);
        broker.reload();
        await().atMost(WAIT).until(() -> connectReasonCode(broker.tlsUrl(), broker.clientOptions(c.toString(), password, true)) == 0);

        // the display logs in with the printed password and publishes its own topics only
        Client service = service("infoscreen/#");
        Client display = new Client(c.toString(), password);
        display.publish(topic(a, "heartbeat"), "spoofed");
        display.publish(topic(c, "heartbeat"), "marker");
        await().atMost(WAIT).until(() -> service.received.contains(topic(c, "heartbeat") + " marker"));
        assertThat(service.received).containsExactly(topic(c, "heartbeat") + " marker");
    }

    @Test
    void addDeviceAndAddUserExplainTheirOptions() throws Exception {
        for (String script : List.of("add-device.sh", "add-user.sh")) {
            String[] help = script(Map.of(), script, "--help");
            assertThat(help[0]).isEqualTo("0");
            assertThat(help[1]).startsWith("Usage: mosquitto/" + script).contains("--generate").contains("PASSWD_FILE");
            String[] wrong = script(Map.of("PASSWD_FILE", broker.passwdFile().toString()), script, "--no-such-option", "x");
            assertThat(wrong[0]).isNotEqualTo("0");
            assertThat(wrong[2]).contains("unknown option '--no-such-option'").contains("Usage:");
        }
        String[] notUuid = script(Map.of("PASSWD_FILE", broker.passwdFile().toString()), "add-device.sh", "--generate", "display-7");
        assertThat(notUuid[0]).isNotEqualTo("0");
        assertThat(notUuid[2]).contains("'display-7' is not a UUID");
        assertThat(notUuid[1]).isEmpty();
    }

    @Test
    void passwordChangeTakesEffectAfterReloadWithoutRestart() throws Exception {
        try (MosquittoProcess own = MosquittoProcess.startProjectConfig()) {
            String user = MosquittoProcess.MONITOR_USER;
            String old = own.password(user);
            own.setPassword(user, "rotated-" + UUID.randomUUID());
            await().atMost(WAIT).until(() -> connectReasonCode(own.tlsUrl(), own.clientOptions(user, own.password(user), true)) == 0);
            assertThat(connectReasonCode(own.tlsUrl(), own.clientOptions(user, old, true))).isEqualTo(0x87);
        }
    }

    private static Optional<InetAddress> externalAddress() throws java.net.SocketException {
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || nif.isLoopback()) {
                continue;
            }
            for (InetAddress address : Collections.list(nif.getInetAddresses())) {
                if (address instanceof Inet4Address) {
                    return Optional.of(address);
                }
            }
        }
        return Optional.empty();
    }
}
