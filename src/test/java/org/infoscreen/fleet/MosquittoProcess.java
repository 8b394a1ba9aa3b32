package org.infoscreen.fleet;

import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.infoscreen.fleet.tls.PemTls;
import org.junit.jupiter.api.Assumptions;

import javax.net.ssl.KeyManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A mosquitto broker process started by a test with the project's own hardened {@code mosquitto/}
 * configuration ({@code mosquitto.conf}, {@code conf.d/plain-listener.conf}, {@code acl}), on
 * free ports in a fresh directory. Only what a test must change is replaced: the listener ports,
 * the container paths ({@code /mosquitto/config/}, {@code /mosquitto/certs/}, {@code /mosquitto/data/}),
 * logging to a file, and (on request) the topic prefix of the ACL, {@code require_certificate}
 * and whether the plain listener is open. Certificates come from {@code mosquitto/gen-certs.sh},
 * passwords from {@code mosquitto/add-user.sh} / {@code add-device.sh}, so the scripts are
 * exercised too.
 *
 * <p>Users: {@link #SERVICE_USER} and {@link #MONITOR_USER} (roles of the ACL), one user per
 * device UUID given in the options, and {@link #TEST_USER}, a test-only user appended to the ACL
 * copy with read and write on every topic, for test helpers that publish as many displays at
 * once ({@link FleetTestSupport#device()}).
 *
 * <p>Skips the test (JUnit assumption) when the {@code mosquitto} binary is missing, unless
 * {@code FLEET_REQUIRE_MOSQUITTO=true} (as in {@code .ci/run}), where a missing binary fails the
 * test instead.
 */
public final class MosquittoProcess implements AutoCloseable {

    /** The service's user name in the project's ACL. */
    public static final String SERVICE_USER = "infoscreen-fleet";
    /** The read-only monitor's user name in the project's ACL. */
    public static final String MONITOR_USER = "infoscreen-monitor";
    /** Test-only user with read and write on every topic (appended to the ACL copy). */
    public static final String TEST_USER = "fleet-test";

    private static final Path BINARY = Path.of("/usr/sbin/mosquitto");

    /** What to start. Defaults: prefix {@code infoscreen}, plain listener open, TLS without client certificates. */
    public static final class Options {
        private String topicPrefix = "infoscreen";
        private boolean plainListener = true;
        private boolean requireCertificate;
        private String serverDns = "mosquitto,localhost";
        private String serverIps = "127.0.0.1";
        private Integer serverDays;
        private Integer caDays;
        private final List<UUID> devices = new ArrayList<>();
        private String extraConfig = "";

        /** @param prefix topic prefix written into the ACL in place of {@code infoscreen} */
        public Options topicPrefix(String prefix) {
            this.topicPrefix = prefix;
            return this;
        }

        /** @param open whether {@code conf.d/plain-listener.conf} is installed (plain loopback listener) */
        public Options plainListener(boolean open) {
            this.plainListener = open;
            return this;
        }

        /** @param required {@code require_certificate true}: mutual TLS */
        public Options requireCertificate(boolean required) {
            this.requireCertificate = required;
            return this;
        }

        /** @param dns {@code SERVER_DNS} of gen-certs.sh (comma-separated; empty for none) */
        public Options serverDns(String dns) {
            this.serverDns = dns;
            return this;
        }

        /** @param ips {@code SERVER_IPS} of gen-certs.sh (comma-separated; empty for none) */
        public Options serverIps(String ips) {
            this.serverIps = ips;
            return this;
        }

        /** @param days validity of the server certificate ({@code SERVER_DAYS}) */
        public Options serverDays(int days) {
            this.serverDays = days;
            return this;
        }

        /** @param days validity of the CA certificate ({@code CA_DAYS}) */
        public Options caDays(int days) {
            this.caDays = days;
            return this;
        }

        /**
         * @param lines configuration lines appended after the project's {@code mosquitto.conf}
         *              (a later value of an option wins, e.g. {@code sys_interval 1} for the benchmark)
         */
        public Options extraConfig(String lines) {
            this.extraConfig += lines.endsWith("\n") ? lines : lines + "\n";
            return this;
        }

        /** @param uuids displays to add with {@code add-device.sh} (password: see {@link #password(String)}) */
        public Options devices(UUID... uuids) {
            devices.addAll(List.of(uuids));
            return this;
        }
    }

    private final Options options;
    private final Path dir;
    private final int plainPort;
    private final int tlsPort;
    private final Map<String, String> passwords = new LinkedHashMap<>();
    private Process process;

    private MosquittoProcess(Options options, Path dir, int plainPort, int tlsPort) {
        this.options = options;
        this.dir = dir;
        this.plainPort = plainPort;
        this.tlsPort = tlsPort;
    }

    /**
     * Starts mosquitto with the project's configuration and default options (plain loopback
     * listener and TLS listener, prefix {@code infoscreen}).
     *
     * @return the running broker
     */
    public static MosquittoProcess startProjectConfig() {
        return start(new Options());
    }

    /**
     * Like {@link #startProjectConfig()} with the ACL written for another topic prefix (a
     * {@link FleetTestSupport} class uses {@code topicPrefix()}).
     *
     * @return the running broker
     */
    public static MosquittoProcess startProjectConfig(String topicPrefix) {
        return start(new Options().topicPrefix(topicPrefix));
    }

    /**
     * Starts mosquitto with the project's configuration and the given options.
     *
     * @return the running broker
     */
    public static MosquittoProcess start(Options options) {
        requireBinary();
        try {
            Path dir = Files.createTempDirectory("fleet-mosquitto");
            MosquittoProcess m = new MosquittoProcess(options, dir, TestServices.freePort(), TestServices.freePort());
            m.install();
            m.startProcess();
            return m;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void requireBinary() {
        if (!Files.isExecutable(BINARY) || !Files.isExecutable(Path.of("/usr/bin/mosquitto_passwd"))
                || !Files.isExecutable(Path.of("/usr/bin/openssl"))) {
            if ("true".equals(System.getenv("FLEET_REQUIRE_MOSQUITTO"))) {
                throw new IllegalStateException("mosquitto, mosquitto_passwd and openssl required (FLEET_REQUIRE_MOSQUITTO=true) but missing");
            }
            Assumptions.abort("mosquitto, mosquitto_passwd or openssl not installed: test skipped (.ci/run installs them)");
        }
    }

    // ---- set-up --------------------------------------------------------------------------------

    private void install() throws IOException {
        Path config = Files.createDirectories(dir.resolve("config"));
        Files.createDirectories(config.resolve("conf.d"));
        Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(dir.resolve("secrets"));

        String conf = Files.readString(Path.of("mosquitto/mosquitto.conf"));
        conf = replace(conf, "listener 8883\n", "listener " + tlsPort + " 127.0.0.1\n");
        conf = replace(conf, "/mosquitto/config/", config + "/");
        conf = replace(conf, "/mosquitto/certs/", dir.resolve("certs") + "/");
        conf = replace(conf, "/mosquitto/data/", dir.resolve("data") + "/");
        conf = replace(conf, "log_dest stdout\n", "log_dest file " + dir.resolve("mosquitto.log") + "\n");
        if (options.requireCertificate) {
            conf = replace(conf, "require_certificate false\n", "require_certificate true\n");
        }
        // started as root, mosquitto would switch to user "mosquitto" and could not read the 600 files
        conf += "\n# test overrides\nuser root\n" + options.extraConfig;
        Files.writeString(config.resolve("mosquitto.conf"), conf);

        if (options.plainListener) {
            String plain = Files.readString(Path.of("mosquitto/conf.d/plain-listener.conf"));
            Files.writeString(config.resolve("conf.d/plain-listener.conf"),
                    replace(plain, "listener 1883 127.0.0.1\n", "listener " + plainPort + " 127.0.0.1\n"));
        }

        String acl = Files.readString(Path.of("mosquitto/acl"));
        if (!"infoscreen".equals(options.topicPrefix)) {
            acl = replace(acl, " infoscreen/", " " + options.topicPrefix + "/");
        }
        acl += "\n# test only: helpers that publish as many displays\nuser " + TEST_USER + "\ntopic readwrite #\n";
        Files.writeString(config.resolve("acl"), acl);

        Map<String, String> certEnv = new LinkedHashMap<>();
        certEnv.put("SERVER_DNS", options.serverDns);
        certEnv.put("SERVER_IPS", options.serverIps);
        if (options.serverDays != null) {
            certEnv.put("SERVER_DAYS", String.valueOf(options.serverDays));
        }
        if (options.caDays != null) {
            certEnv.put("CA_DAYS", String.valueOf(options.caDays));
        }
        genCerts(certEnv, "server");

        for (String user : List.of(SERVICE_USER, MONITOR_USER, TEST_USER)) {
            setPasswordInFile(user, "pw-" + user + "-" + UUID.randomUUID().toString().substring(0, 8));
        }
        for (UUID device : options.devices) {
            String pw = "pw-dev-" + UUID.randomUUID().toString().substring(0, 8);
            run(List.of(script("add-device.sh"), device.toString()), Map.of("PASSWD_FILE", passwdFile().toString()), pw + "\n");
            passwords.put(device.toString(), pw);
        }
        writeServicePasswordFile();
    }

    private static String replace(String text, String from, String to) {
        if (!text.contains(from)) {
            throw new IllegalStateException("the project's mosquitto config no longer contains '" + from.strip()
                    + "': update MosquittoProcess");
        }
        return text.replace(from, to);
    }

    private static String script(String name) {
        return Path.of("mosquitto", name).toAbsolutePath().toString();
    }

    /** @return this broker's password file (for {@code PASSWD_FILE} of the scripts; reload after a change) */
    public Path passwdFile() {
        return dir.resolve("config/passwd");
    }

    private void setPasswordInFile(String user, String password) {
        run(List.of(script("add-user.sh"), user), Map.of("PASSWD_FILE", passwdFile().toString()), password + "\n");
        passwords.put(user, password);
    }

    private void writeServicePasswordFile() {
        try {
            Files.writeString(servicePasswordFile(), passwords.get(SERVICE_USER) + "\n");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs {@code mosquitto/gen-certs.sh} with {@code CERT_DIR} = this broker's certificate
     * directory and EC keys (fast).
     *
     * @param env  further settings (SERVER_DNS, SERVER_DAYS, ...)
     * @param args the command, e.g. {@code server}, {@code client NAME}, {@code ca}
     */
    public void genCerts(Map<String, String> env, String... args) {
        Map<String, String> e = new LinkedHashMap<>();
        e.put("CERT_DIR", certDir().toString());
        e.put("KEY_TYPE", "ec");
        e.putAll(env);
        List<String> command = new ArrayList<>();
        command.add(script("gen-certs.sh"));
        command.addAll(List.of(args));
        run(command, e, "");
    }

    private static String run(List<String> command, Map<String, String> env, String stdin) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putAll(env);
            Process p = pb.start();
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(command + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    // ---- process ---------------------------------------------------------------------------------

    private void startProcess() throws IOException {
        process = new ProcessBuilder(BINARY.toString(), "-c", dir.resolve("config/mosquitto.conf").toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()))
                .start();
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("mosquitto exited: " + Files.readString(dir.resolve("stdout.log")) + log());
            }
            if (TestServices.answers("127.0.0.1", tlsPort) && (!options.plainListener || TestServices.answers("127.0.0.1", plainPort))) {
                return;
            }
            try {
                process.waitFor(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("mosquitto did not listen on " + tlsPort + "/" + plainPort + " within 10 s: " + log());
    }

    /** Stops the broker as {@code docker stop} would (SIGTERM; it saves its persistence file). */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Starts the stopped broker again on the same ports, with the same persistence, files and passwords. */
    public void start() {
        if (process != null) {
            throw new IllegalStateException("already running");
        }
        try {
            startProcess();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@link #stop()} then {@link #start()}: sessions and queued QoS 1 messages survive. */
    public void restart() {
        stop();
        start();
    }

    /** SIGHUP: mosquitto reloads the password file and the ACL; connected clients stay connected. */
    public void reload() {
        try {
            new ProcessBuilder("kill", "-HUP", String.valueOf(process.pid())).start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Sets a new password for a user in the broker's password file and reloads the broker
     * (connected clients keep their connection; the next login needs the new password).
     */
    public void setPassword(String user, String password) {
        setPasswordInFile(user, password);
        reload();
    }

    // ---- what tests use ------------------------------------------------------------------------

    /** @return the plain loopback listener {@code tcp://127.0.0.1:<port>} (open by default) */
    public String url() {
        if (!options.plainListener) {
            throw new IllegalStateException("the plain listener is closed in this broker");
        }
        return "tcp://127.0.0.1:" + plainPort;
    }

    /** @return the TLS listener {@code ssl://127.0.0.1:<port>} */
    public String tlsUrl() {
        return tlsUrl("127.0.0.1");
    }

    /** @return the TLS listener dialled by the given host name, e.g. {@code ssl://localhost:<port>} */
    public String tlsUrl(String host) {
        return "ssl://" + host + ":" + tlsPort;
    }

    /** @return the plain listener's port (closed when the options say so) */
    public int plainPort() {
        return plainPort;
    }

    /** @return the TLS listener's port */
    public int tlsPort() {
        return tlsPort;
    }

    /** @return the directory with {@code ca.crt}, {@code server.crt} and client certificates */
    public Path certDir() {
        return dir.resolve("certs");
    }

    /** @return the CA certificate that signed the broker's certificate */
    public Path caCert() {
        return certDir().resolve("ca.crt");
    }

    /** @return the password of a user of this broker (service, monitor, test user or a device UUID) */
    public String password(String user) {
        String pw = passwords.get(user);
        if (pw == null) {
            throw new IllegalArgumentException("no such user: " + user);
        }
        return pw;
    }

    /** @return a file holding the service user's password (for {@code MQTT_PASSWORD_FILE}) */
    public Path servicePasswordFile() {
        return dir.resolve("secrets/mqtt_password");
    }

    /**
     * Issues a client certificate with {@code gen-certs.sh client NAME}.
     *
     * @return {@code [certificate, key]} paths
     */
    public Path[] clientCertificate(String name) {
        genCerts(Map.of(), "client", name);
        return new Path[] {certDir().resolve("client-" + name + ".crt"), certDir().resolve("client-" + name + ".key")};
    }

    /**
     * @return service properties for {@link FleetTestSupport#extraProperties()}: the service user,
     *         its password file and, with {@code tls}, TLS on with this broker's CA
     */
    public Properties serviceProperties(boolean tls) {
        Properties p = new Properties();
        p.setProperty("fleet.mqtt.user", SERVICE_USER);
        p.setProperty("fleet.mqtt.password-file", servicePasswordFile().toString());
        if (tls) {
            p.setProperty("fleet.mqtt.tls.enabled", "true");
            p.setProperty("fleet.mqtt.tls.ca-cert", caCert().toString());
        }
        return p;
    }

    /**
     * @param user     user name ({@code null}: anonymous)
     * @param password its password ({@code null}: none)
     * @param tls      whether to trust this broker's CA (for {@link #tlsUrl()})
     * @return Paho options with clean start, for a test client of this broker
     */
    public MqttConnectionOptions clientOptions(String user, String password, boolean tls) {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        o.setConnectionTimeout(10);
        if (user != null) {
            o.setUserName(user);
        }
        if (password != null) {
            o.setPassword(password.getBytes(StandardCharsets.UTF_8));
        }
        if (tls) {
            try {
                o.setSocketFactory(PemTls.context(PemTls.trustManager(caCert()), (KeyManager[]) null).getSocketFactory());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return o;
    }

    /** @return options of the test-only user with every right ({@link #TEST_USER}) for the plain listener */
    public MqttConnectionOptions testUserOptions() {
        MqttConnectionOptions o = clientOptions(TEST_USER, password(TEST_USER), false);
        o.setAutomaticReconnect(true);
        return o;
    }

    /** @return the broker's log so far */
    public String log() throws IOException {
        Path f = dir.resolve("mosquitto.log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    /** Stops the broker and deletes its directory (kept when {@code FLEET_KEEP_MOSQUITTO_DIR=true}, for debugging). */
    @Override
    public void close() {
        stop();
        if ("true".equals(System.getenv("FLEET_KEEP_MOSQUITTO_DIR"))) {
            System.out.println("[tests] mosquitto directory kept: " + dir);
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
