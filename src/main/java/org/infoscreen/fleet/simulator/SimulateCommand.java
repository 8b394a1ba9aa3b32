package org.infoscreen.fleet.simulator;

import org.infoscreen.fleet.support.Secrets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * {@code java -jar infoscreen-fleet.jar simulate …}: runs a {@link FleetSimulator} from the
 * command line until Ctrl-C (or {@code --duration-s}), prints a status line every
 * {@code --report-s} seconds, and optionally a load run ({@code --messages} at {@code --rate})
 * whose achieved rate it prints. Exit code 0, or 1 when displays did not come online or messages
 * failed.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Simulates displays speaking docs/MQTT_EVENT_PAYLOAD_GUIDE.md: heartbeat, health,",
                "service_failed, last will, command acks. Display N of seed S has the UUID",
                "5eedSSSS-0000-4000-8000-NNNNNNNNNNNN (S in hex, N in decimal), e.g. seed 1,",
                "display 7: 5eed0001-0000-4000-8000-000000000007. Ctrl-C takes every display",
                "offline gracefully.", ""})
public final class SimulateCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(SimulateCommand.class);

    @Option(names = "--clients", paramLabel = "N", description = "number of displays (default: ${DEFAULT-VALUE})")
    int clients = 50;

    @Option(names = "--broker", paramLabel = "URL",
            description = "broker: tcp://host:port, or ssl://host:port for TLS (default: ${DEFAULT-VALUE}, the service's embedded broker)")
    String broker = "tcp://127.0.0.1:1884";

    @Option(names = "--topic-prefix", paramLabel = "PREFIX", description = "first topic level(s), as MQTT_TOPIC_PREFIX of the service (default: ${DEFAULT-VALUE})")
    String topicPrefix = "infoscreen";

    @Option(names = "--seed", description = "seed of the UUIDs and of random faults (default: ${DEFAULT-VALUE})")
    long seed = 1;

    @Option(names = "--first-index", paramLabel = "N", description = "index of the first display, to run disjoint fleets side by side (default: ${DEFAULT-VALUE})")
    int firstIndex = 1;

    @Option(names = "--user", paramLabel = "NAME", description = "MQTT user name; {uuid} is replaced by each display's UUID")
    String user;

    @Option(names = "--password-file", paramLabel = "FILE",
            description = "file with the MQTT password (else MQTT_PASSWORD or MQTT_PASSWORD_FILE from the environment)")
    Path passwordFile;

    @Option(names = "--ca-file", paramLabel = "FILE", description = "PEM CA certificate(s) the broker's TLS certificate is checked against (ssl:// URLs)")
    Path caFile;

    @Option(names = "--heartbeat-s", paramLabel = "S", description = "heartbeat interval per display, seconds (default: ${DEFAULT-VALUE})")
    long heartbeatS = 30;

    @Option(names = "--health-s", paramLabel = "S", description = "health snapshot interval per display, seconds (default: ${DEFAULT-VALUE})")
    long healthS = 60;

    @Option(names = "--keep-alive-s", paramLabel = "S", description = "MQTT keep alive, seconds (default: ${DEFAULT-VALUE})")
    long keepAliveS = 30;

    @Option(names = "--session-expiry-s", paramLabel = "S", description = "MQTT 5 session expiry, seconds (default: ${DEFAULT-VALUE})")
    long sessionExpiryS = 86_400;

    @Option(names = "--service-failed-per-hour", paramLabel = "R", description = "random failed systemd units per hour, whole fleet (default: ${DEFAULT-VALUE})")
    double serviceFailedPerHour;

    @Option(names = "--crash-per-hour", paramLabel = "R", description = "random app crashes per hour, whole fleet (default: ${DEFAULT-VALUE})")
    double crashPerHour;

    @Option(names = "--hang-per-hour", paramLabel = "R", description = "random hangs (silent, no last will) per hour, whole fleet (default: ${DEFAULT-VALUE})")
    double hangPerHour;

    @Option(names = "--flap-per-hour", paramLabel = "R", description = "random connection flaps per hour, whole fleet (default: ${DEFAULT-VALUE})")
    double flapPerHour;

    @Option(names = "--hang-s", paramLabel = "S", description = "a hung display reboots by itself after this many seconds; 0 = stays hung (default: ${DEFAULT-VALUE})")
    long hangS;

    @Option(names = "--crash", paramLabel = "N[@S]", description = "display N's app crashes S seconds after start (default 0); repeatable")
    List<String> crash = new ArrayList<>();

    @Option(names = "--hang", paramLabel = "N[@S]", description = "display N hangs S seconds after start; repeatable")
    List<String> hang = new ArrayList<>();

    @Option(names = "--flap", paramLabel = "N[@S]", description = "display N's connection flaps 3 times S seconds after start; repeatable")
    List<String> flap = new ArrayList<>();

    @Option(names = "--service-failed", paramLabel = "N[@S]", description = "a unit of display N fails S seconds after start; repeatable")
    List<String> serviceFailed = new ArrayList<>();

    @Option(names = "--power-off", paramLabel = "N[@S]", description = "display N loses power S seconds after start (last will); repeatable")
    List<String> powerOff = new ArrayList<>();

    @Option(names = "--command-delay-ms", paramLabel = "MS", description = "time between the acks of a command (default: ${DEFAULT-VALUE})")
    long commandDelayMs = 500;

    @Option(names = "--reboot-s", paramLabel = "S", description = "how long a reboot takes, seconds (default: ${DEFAULT-VALUE})")
    long rebootS = 5;

    @Option(names = "--messages", paramLabel = "N", description = "load run: publish N heartbeats (QoS 1) once all displays are online, print the achieved rate")
    long messages;

    @Option(names = "--rate", paramLabel = "R", description = "load run rate, messages per second; 0 = as fast as the broker acknowledges (default: ${DEFAULT-VALUE})")
    double rate;

    @Option(names = "--duration-s", paramLabel = "S",
            description = "stop after S seconds; 0 = until Ctrl-C, or right after the load run when --messages is given (default: ${DEFAULT-VALUE})")
    long durationS;

    @Option(names = "--report-s", paramLabel = "S", description = "status line interval, seconds; 0 = none (default: ${DEFAULT-VALUE})")
    long reportS = 10;

    @Option(names = "--io-threads", paramLabel = "N", description = "Netty I/O threads shared by all displays (default: ${DEFAULT-VALUE})")
    int ioThreads = 2;

    @Option(names = "--max-in-flight", paramLabel = "N", description = "load run: QoS 1 messages awaiting PUBACK at once (default: ${DEFAULT-VALUE})")
    int maxInFlight = 2000;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        SimulatorConfig config = checkedConfig();
        FleetSimulator fleet = FleetSimulator.start(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            fleet.close();
            stopped.countDown();
        }, "simulator-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        long t0 = System.nanoTime();
        boolean allOnline = fleet.awaitConnected(Duration.ofSeconds(Math.max(30, clients / 50)));
        LOG.info("{}/{} displays online after {} s (display {}: {})", fleet.online(), clients,
                String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9), firstIndex,
                clients > 0 ? SimulatorConfig.displayUuid(seed, firstIndex) : "-");
        if (!allOnline) {
            LOG.warn("not every display came online: is the broker at {} reachable and are the credentials right?", broker);
        }
        schedule(fleet, crash, SimulatedDisplay::crash);
        schedule(fleet, hang, SimulatedDisplay::hang);
        schedule(fleet, flap, d -> d.flap(3));
        schedule(fleet, serviceFailed, d -> d.serviceFailed("infoscreen-player.service"));
        schedule(fleet, powerOff, SimulatedDisplay::powerOff);
        if (reportS > 0) {
            fleet.scheduler().scheduleAtFixedRate(() -> report(fleet), reportS, reportS, TimeUnit.SECONDS);
        }

        boolean ok = allOnline;
        if (messages > 0 && fleet.online() > 0) {
            LOG.info("Load run: {} heartbeats at {}", messages, rate <= 0 ? "full speed" : rate + " msg/s");
            LoadResult result = fleet.publishAtRate(messages, rate);
            LOG.info("Load run: {}", result);
            ok &= result.failed() == 0;
        }
        if (messages > 0 && durationS == 0) {
            shutdown(fleet, hook);
        } else if (durationS > 0) {
            long left = durationS * 1000 - (System.nanoTime() - t0) / 1_000_000;
            if (!stopped.await(Math.max(0, left), TimeUnit.MILLISECONDS)) {
                shutdown(fleet, hook);
            }
        } else {
            stopped.await();
            return 0;
        }
        FleetSimulator.Stats s = fleet.stats();
        LOG.info("Stopped: {} messages published, {} acknowledged, {} failed, {} commands answered",
                s.published(), s.acknowledged(), s.failed(), s.commands());
        return ok && s.failed() == 0 ? 0 : 1;
    }

    private static void shutdown(FleetSimulator fleet, Thread hook) {
        Runtime.getRuntime().removeShutdownHook(hook);
        fleet.close();
    }

    /**
     * Checks every option before anything connects: a bad value is a usage error (exit code 2,
     * message and usage, no stack trace), not a failure half-way through the run.
     */
    private SimulatorConfig checkedConfig() {
        requireAtLeastZero("--messages", messages);
        requireAtLeastZero("--rate", rate);
        requireAtLeastZero("--duration-s", durationS);
        requireAtLeastZero("--report-s", reportS);
        requireAtLeastZero("--command-delay-ms", commandDelayMs);
        requireAtLeastZero("--reboot-s", rebootS);
        requireAtLeastZero("--hang-s", hangS);
        SimulatorConfig config;
        try {
            config = config();
        } catch (IllegalArgumentException | java.io.IOException e) {
            throw usage(e.getMessage());
        }
        for (List<String> specs : List.of(crash, hang, flap, serviceFailed, powerOff)) {
            for (String s : specs) {
                Scheduled planned = Scheduled.parse(s);
                if (planned.index() < firstIndex || planned.index() >= firstIndex + clients) {
                    throw usage("no display " + planned.index() + " in '" + s + "': displays are " + firstIndex + " to "
                            + (firstIndex + clients - 1) + " (--first-index, --clients)");
                }
                if (planned.afterSeconds() < 0) {
                    throw usage("seconds must be >= 0: " + s);
                }
            }
        }
        return config;
    }

    private void requireAtLeastZero(String option, double value) {
        if (value < 0 || Double.isNaN(value)) {
            throw usage(option + " must be >= 0, was " + value);
        }
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    SimulatorConfig config() throws java.io.IOException {
        String password = passwordFile != null ? Files.readString(passwordFile).stripTrailing()
                : new Secrets(System.getenv()).get("MQTT_PASSWORD");
        return SimulatorConfig.defaults()
                .brokerUrl(broker)
                .topicPrefix(topicPrefix)
                .clients(clients)
                .firstIndex(firstIndex)
                .seed(seed)
                .userName(user)
                .password(password)
                .caFile(caFile)
                .heartbeatInterval(Duration.ofSeconds(heartbeatS))
                .healthInterval(Duration.ofSeconds(healthS))
                .keepAlive(Duration.ofSeconds(keepAliveS))
                .sessionExpiry(Duration.ofSeconds(sessionExpiryS))
                .serviceFailedPerHour(serviceFailedPerHour)
                .crashPerHour(crashPerHour)
                .hangPerHour(hangPerHour)
                .flapPerHour(flapPerHour)
                .hangDuration(Duration.ofSeconds(hangS))
                .commandStepDelay(Duration.ofMillis(commandDelayMs))
                .rebootDuration(Duration.ofSeconds(rebootS))
                .ioThreads(ioThreads)
                .maxInFlight(maxInFlight);
    }

    private void schedule(FleetSimulator fleet, List<String> specs, Consumer<SimulatedDisplay> fault) {
        for (String spec : specs) {
            Scheduled s = Scheduled.parse(spec);
            SimulatedDisplay d = fleet.display(s.index());
            fleet.scheduler().schedule(() -> fault.accept(d), s.afterSeconds(), TimeUnit.SECONDS);
        }
    }

    private static void report(FleetSimulator fleet) {
        FleetSimulator.Stats s = fleet.stats();
        double up = Math.max(1, s.uptime().toSeconds());
        LOG.info("{}/{} displays online; {} messages acknowledged ({} msg/s average), {} failed; {} commands answered",
                s.online(), s.displays(), s.acknowledged(), String.format(Locale.ROOT, "%.1f", s.acknowledged() / up),
                s.failed(), s.commands());
    }

    /** A fault planned on the command line: {@code N} or {@code N@S} (display N, S seconds after start). */
    record Scheduled(int index, long afterSeconds) {
        static Scheduled parse(String spec) {
            String[] parts = spec.split("@", 2);
            try {
                return new Scheduled(Integer.parseInt(parts[0].strip()), parts.length > 1 ? Long.parseLong(parts[1].strip()) : 0);
            } catch (NumberFormatException e) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(new SimulateCommand()),
                        "expected DISPLAY or DISPLAY@SECONDS, e.g. 3@20: " + spec);
            }
        }
    }
}
