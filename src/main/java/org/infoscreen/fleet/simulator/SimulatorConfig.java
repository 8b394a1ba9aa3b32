package org.infoscreen.fleet.simulator;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * Settings of a {@link FleetSimulator}: which broker, how many displays, how often they talk and
 * how often things go wrong. Fluent setters return {@code this}; the defaults are those of a real
 * display (docs/MQTT_EVENT_PAYLOAD_GUIDE.md §9: heartbeat every 30 s, health every 60 s, keep
 * alive 30 s, persistent session of one day) against the service's embedded broker.
 */
public final class SimulatorConfig {

    private String brokerUrl = "tcp://127.0.0.1:1884";
    private String topicPrefix = "infoscreen";
    private int clients = 50;
    private int firstIndex = 1;
    private long seed = 1;
    private String userName;
    private String password;
    private Path caFile;
    private Duration heartbeatInterval = Duration.ofSeconds(30);
    private Duration healthInterval = Duration.ofSeconds(60);
    private Duration keepAlive = Duration.ofSeconds(30);
    private Duration sessionExpiry = Duration.ofDays(1);
    private Duration commandStepDelay = Duration.ofMillis(500);
    private Duration rebootDuration = Duration.ofSeconds(5);
    private Duration flapDowntime = Duration.ofSeconds(2);
    private Duration hangDuration = Duration.ZERO;
    private double serviceFailedPerHour;
    private double crashPerHour;
    private double hangPerHour;
    private double flapPerHour;
    private int ioThreads = 2;
    private int maxInFlight = 2000;

    /** @return a configuration with the defaults */
    public static SimulatorConfig defaults() {
        return new SimulatorConfig();
    }

    /**
     * The UUID of simulated display {@code index} for a seed: {@code 5eedSSSS-0000-4000-8000-NNNNNNNNNNNN}
     * with {@code SSSS} the low 16 bits of the seed in hex and {@code N…} the index in decimal
     * (zero-padded to 12 digits), e.g. seed 1, display 7 → {@code 5eed0001-0000-4000-8000-000000000007}.
     * Stable across runs, so a display keeps its history (and its persistent session) in the service.
     *
     * @param seed  the simulator's seed
     * @param index the display's index, 0 to 999,999,999,999
     * @return a version-4-shaped UUID
     */
    public static UUID displayUuid(long seed, int index) {
        if (index < 0) {
            throw new IllegalArgumentException("display index must be >= 0: " + index);
        }
        return UUID.fromString(String.format(Locale.ROOT, "5eed%04x-0000-4000-8000-%012d", seed & 0xFFFF, index));
    }

    /** @param url {@code tcp://host:port} or {@code mqtt://…} (plain), {@code ssl://}, {@code tls://} or {@code mqtts://} (TLS) */
    public SimulatorConfig brokerUrl(String url) {
        URI u = URI.create(Objects.requireNonNull(url, "broker URL"));
        if (u.getHost() == null || u.getScheme() == null) {
            throw new IllegalArgumentException("broker URL must look like tcp://host:port or ssl://host:port: " + url);
        }
        tlsScheme(u.getScheme());
        this.brokerUrl = url;
        return this;
    }

    /** @param prefix first topic level(s), the service's {@code MQTT_TOPIC_PREFIX} */
    public SimulatorConfig topicPrefix(String prefix) {
        this.topicPrefix = Objects.requireNonNull(prefix);
        return this;
    }

    /** @param count number of displays (≥ 0) */
    public SimulatorConfig clients(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("clients must be >= 0");
        }
        this.clients = count;
        return this;
    }

    /** @param index index of the first display (default 1), so two simulators can run disjoint displays */
    public SimulatorConfig firstIndex(int index) {
        this.firstIndex = index;
        return this;
    }

    /** @param seed seed of the display UUIDs, boot ids, jitter and random failures (same seed, same run) */
    public SimulatorConfig seed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * @param userName MQTT user name, {@code null} for none; {@code {uuid}} in it is replaced by the
     *                 display's UUID (a broker with one account per display)
     */
    public SimulatorConfig userName(String userName) {
        this.userName = userName;
        return this;
    }

    /** @param password MQTT password, {@code null} for none (never logged) */
    public SimulatorConfig password(String password) {
        this.password = password;
        return this;
    }

    /** @param caFile PEM file with the CA certificate(s) that signed the broker's certificate (TLS), {@code null} for the JVM's trust store */
    public SimulatorConfig caFile(Path caFile) {
        this.caFile = caFile;
        return this;
    }

    /** @param interval heartbeat interval (default 30 s) */
    public SimulatorConfig heartbeatInterval(Duration interval) {
        this.heartbeatInterval = positive(interval, "heartbeat interval");
        return this;
    }

    /** @param interval health snapshot interval (default 60 s) */
    public SimulatorConfig healthInterval(Duration interval) {
        this.healthInterval = positive(interval, "health interval");
        return this;
    }

    /** @param keepAlive MQTT keep alive (default 30 s) */
    public SimulatorConfig keepAlive(Duration keepAlive) {
        this.keepAlive = positive(keepAlive, "keep alive");
        return this;
    }

    /** @param expiry MQTT 5 session expiry interval (default 1 day) */
    public SimulatorConfig sessionExpiry(Duration expiry) {
        this.sessionExpiry = Objects.requireNonNull(expiry);
        return this;
    }

    /** @param delay time between the acks of a command (accepted → executing → completed), default 0.5 s */
    public SimulatorConfig commandStepDelay(Duration delay) {
        this.commandStepDelay = Objects.requireNonNull(delay);
        return this;
    }

    /** @param duration how long a {@code reboot_host} keeps the display away (default 5 s) */
    public SimulatorConfig rebootDuration(Duration duration) {
        this.rebootDuration = Objects.requireNonNull(duration);
        return this;
    }

    /** @param downtime how long a flapping display stays disconnected each time (default 2 s) */
    public SimulatorConfig flapDowntime(Duration downtime) {
        this.flapDowntime = Objects.requireNonNull(downtime);
        return this;
    }

    /** @param duration after how long a hung display reboots by itself (a watchdog); zero = stays hung (default) */
    public SimulatorConfig hangDuration(Duration duration) {
        this.hangDuration = Objects.requireNonNull(duration);
        return this;
    }

    /** @param perHour failed systemd units per hour across the fleet (random, seeded) */
    public SimulatorConfig serviceFailedPerHour(double perHour) {
        this.serviceFailedPerHour = rate(perHour);
        return this;
    }

    /** @param perHour app crashes per hour across the fleet */
    public SimulatorConfig crashPerHour(double perHour) {
        this.crashPerHour = rate(perHour);
        return this;
    }

    /** @param perHour hangs (silent, no last will) per hour across the fleet */
    public SimulatorConfig hangPerHour(double perHour) {
        this.hangPerHour = rate(perHour);
        return this;
    }

    /** @param perHour connection flaps (last will, reconnect) per hour across the fleet */
    public SimulatorConfig flapPerHour(double perHour) {
        this.flapPerHour = rate(perHour);
        return this;
    }

    /** @param threads Netty I/O threads shared by all displays (default 2) */
    public SimulatorConfig ioThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("io threads must be >= 1");
        }
        this.ioThreads = threads;
        return this;
    }

    /** @param max QoS 1 publishes of a load run waiting for their PUBACK at once (default 2000) */
    public SimulatorConfig maxInFlight(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("max in flight must be >= 1");
        }
        this.maxInFlight = max;
        return this;
    }

    public String brokerUrl() {
        return brokerUrl;
    }

    /** @return the broker host */
    public String brokerHost() {
        return URI.create(brokerUrl).getHost();
    }

    /** @return the broker port (default 1883, or 8883 with TLS) */
    public int brokerPort() {
        URI u = URI.create(brokerUrl);
        return u.getPort() > 0 ? u.getPort() : (tls() ? 8883 : 1883);
    }

    /** @return whether the broker URL asks for TLS */
    public boolean tls() {
        return tlsScheme(URI.create(brokerUrl).getScheme());
    }

    private static boolean tlsScheme(String scheme) {
        return switch (scheme.toLowerCase(Locale.ROOT)) {
            case "tcp", "mqtt" -> false;
            case "ssl", "tls", "mqtts" -> true;
            default -> throw new IllegalArgumentException("unknown broker URL scheme '" + scheme + "': use tcp, mqtt, ssl, tls or mqtts");
        };
    }

    public String topicPrefix() {
        return topicPrefix;
    }

    public int clients() {
        return clients;
    }

    public int firstIndex() {
        return firstIndex;
    }

    public long seed() {
        return seed;
    }

    public String userName() {
        return userName;
    }

    public String password() {
        return password;
    }

    public Path caFile() {
        return caFile;
    }

    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    public Duration healthInterval() {
        return healthInterval;
    }

    public Duration keepAlive() {
        return keepAlive;
    }

    public Duration sessionExpiry() {
        return sessionExpiry;
    }

    public Duration commandStepDelay() {
        return commandStepDelay;
    }

    public Duration rebootDuration() {
        return rebootDuration;
    }

    public Duration flapDowntime() {
        return flapDowntime;
    }

    public Duration hangDuration() {
        return hangDuration;
    }

    public double serviceFailedPerHour() {
        return serviceFailedPerHour;
    }

    public double crashPerHour() {
        return crashPerHour;
    }

    public double hangPerHour() {
        return hangPerHour;
    }

    public double flapPerHour() {
        return flapPerHour;
    }

    public int ioThreads() {
        return ioThreads;
    }

    public int maxInFlight() {
        return maxInFlight;
    }

    private static Duration positive(Duration d, String what) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be > 0");
        }
        return d;
    }

    private static double rate(double perHour) {
        if (perHour < 0 || Double.isNaN(perHour)) {
            throw new IllegalArgumentException("rate must be >= 0 per hour");
        }
        return perHour;
    }
}
