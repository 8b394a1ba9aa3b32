package org.infoscreen.fleet.simulator;

import com.hivemq.client.mqtt.MqttClientExecutorConfig;
import com.hivemq.client.mqtt.MqttClientSslConfig;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5PublishResult;
import io.reactivex.schedulers.Schedulers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A fleet of {@link SimulatedDisplay}s on few threads: all displays share one Netty event loop
 * ({@link SimulatorConfig#ioThreads()} threads) and one small scheduler for their timers and
 * callbacks, so thousands of displays and thousands of QoS 1 messages per second fit in a handful
 * of threads. Usable from tests and benchmarks:
 *
 * <pre>{@code
 * try (FleetSimulator fleet = FleetSimulator.start(SimulatorConfig.defaults().brokerUrl(url).clients(50))) {
 *     fleet.awaitConnected(Duration.ofSeconds(30));
 *     fleet.display(3).crash();
 *     LoadResult r = fleet.publishAtRate(100_000, 5_000);   // heartbeats, QoS 1
 * }
 * }</pre>
 *
 * Random faults ({@code *PerHour} in the configuration) are drawn once a second from a
 * {@link Random} seeded with {@link SimulatorConfig#seed()}.
 */
public final class FleetSimulator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FleetSimulator.class);

    private final SimulatorConfig config;
    private final ScheduledExecutorService scheduler;
    private final MqttClientExecutorConfig executorConfig;
    private final MqttClientSslConfig sslConfig;
    private final List<SimulatedDisplay> displays;
    private final Random random;
    private final LongAdder published = new LongAdder();
    private final LongAdder acknowledged = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder commandsAnswered = new LongAdder();
    private final long startedNanos = System.nanoTime();
    private volatile boolean closed;

    private FleetSimulator(SimulatorConfig config) {
        this.config = config;
        this.scheduler = Executors.newScheduledThreadPool(2, daemonThreads("simulator"));
        // callbacks of the MQTT client run on our scheduler; once closed, late ones (a client-side
        // session expiring after the goodbye) are dropped instead of failing as undeliverable errors
        java.util.concurrent.Executor callbacks = task -> {
            try {
                scheduler.execute(task);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                LOG.debug("simulator closed: MQTT client callback dropped");
            }
        };
        // Netty I/O threads from our own daemon thread factory: the client's default event loop is
        // non-daemon and stays referenced by every client session until that session expires (a day),
        // so the JVM would never exit after close()
        ThreadFactory io = daemonThreads("simulator-mqtt-io");
        this.executorConfig = MqttClientExecutorConfig.builder()
                .nettyExecutor(task -> io.newThread(task).start())
                .nettyThreads(config.ioThreads())
                .applicationScheduler(Schedulers.from(callbacks))
                .build();
        this.sslConfig = config.tls() ? sslConfig(config) : null;
        this.random = new Random(config.seed());
        List<SimulatedDisplay> list = new ArrayList<>(config.clients());
        for (int i = 0; i < config.clients(); i++) {
            list.add(new SimulatedDisplay(this, config.firstIndex() + i));
        }
        this.displays = Collections.unmodifiableList(list);
    }

    /**
     * Creates the displays and connects them (asynchronously, spread over the first second);
     * each then publishes online, a health snapshot and its heartbeats.
     *
     * @param config what to simulate
     * @return the running simulator; close it to take the displays offline
     * @throws IllegalArgumentException when the TLS CA file cannot be read
     */
    public static FleetSimulator start(SimulatorConfig config) {
        FleetSimulator fleet = new FleetSimulator(config);
        fleet.startDisplays();
        return fleet;
    }

    private void startDisplays() {
        long heartbeatMs = config.heartbeatInterval().toMillis();
        long healthMs = config.healthInterval().toMillis();
        int n = displays.size();
        for (int i = 0; i < n; i++) {
            SimulatedDisplay d = displays.get(i);
            long connectDelay = n <= 1 ? 0 : (1000L * i) / n;
            scheduler.schedule(d::connect, connectDelay, TimeUnit.MILLISECONDS);
            // spread the beats over the interval, as a real fleet's are
            long offset = connectDelay + 200 + (long) (random.nextDouble() * heartbeatMs);
            scheduler.scheduleAtFixedRate(d::heartbeat, offset, heartbeatMs, TimeUnit.MILLISECONDS);
            scheduler.scheduleAtFixedRate(d::health, offset + healthMs, healthMs, TimeUnit.MILLISECONDS);
        }
        if (config.serviceFailedPerHour() + config.crashPerHour() + config.hangPerHour() + config.flapPerHour() > 0) {
            scheduler.scheduleAtFixedRate(this::randomFaults, 1, 1, TimeUnit.SECONDS);
        }
        LOG.info("Simulating {} display(s) against {} (topic prefix '{}', seed {}): heartbeat every {} s, health every {} s",
                n, config.brokerUrl(), config.topicPrefix(), config.seed(),
                config.heartbeatInterval().toSeconds(), config.healthInterval().toSeconds());
    }

    /** Once a second: each kind of fault happens with probability rate/3600 (Poisson), to a random online display. */
    private void randomFaults() {
        fault(config.serviceFailedPerHour(), d -> d.serviceFailed(pick(SERVICE_UNITS)));
        fault(config.crashPerHour(), SimulatedDisplay::crash);
        fault(config.hangPerHour(), SimulatedDisplay::hang);
        fault(config.flapPerHour(), d -> d.flap(1 + random.nextInt(3)));
    }

    private static final List<String> SERVICE_UNITS = List.of(
            "infoscreen-player.service", "infoscreen-agent.service", "chromium-kiosk.service", "ntp.service");

    private String pick(List<String> options) {
        return options.get(random.nextInt(options.size()));
    }

    private void fault(double perHour, java.util.function.Consumer<SimulatedDisplay> action) {
        if (perHour <= 0 || displays.isEmpty()) {
            return;
        }
        // number of events this second: Poisson(perHour / 3600), by inversion (small means)
        double mean = perHour / 3600.0;
        double l = Math.exp(-mean);
        double p = random.nextDouble();
        int k = 0;
        while (p > l && k < 1000) {
            p *= random.nextDouble();
            k++;
        }
        for (int i = 0; i < k; i++) {
            SimulatedDisplay d = displays.get(random.nextInt(displays.size()));
            if (d.state() == SimulatedDisplay.State.ONLINE && "running".equals(d.processStatus())) {
                action.accept(d);
            }
        }
    }

    // ---- access -----------------------------------------------------------------------------------

    /** @return the configuration it runs with */
    public SimulatorConfig config() {
        return config;
    }

    /** @return all displays, in index order */
    public List<SimulatedDisplay> displays() {
        return displays;
    }

    /**
     * @param index the display's index ({@link SimulatorConfig#firstIndex()} for the first)
     * @return that display
     * @throws IndexOutOfBoundsException when the simulator has no display with that index
     */
    public SimulatedDisplay display(int index) {
        int i = index - config.firstIndex();
        if (i < 0 || i >= displays.size()) {
            throw new IndexOutOfBoundsException("no display " + index + " (displays " + config.firstIndex() + " to "
                    + (config.firstIndex() + displays.size() - 1) + ")");
        }
        return displays.get(i);
    }

    /** @return number of displays whose state is {@link SimulatedDisplay.State#ONLINE} */
    public int online() {
        return (int) displays.stream().filter(d -> d.state() == SimulatedDisplay.State.ONLINE).count();
    }

    /**
     * Waits until every display is online.
     *
     * @param timeout longest wait
     * @return whether all were online in time
     */
    public boolean awaitConnected(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (online() < displays.size()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    /** @return counters since start: messages published, acknowledged and failed, commands answered */
    public Stats stats() {
        return new Stats(displays.size(), online(), published.sum(), acknowledged.sum(), failed.sum(), commandsAnswered.sum(),
                Duration.ofNanos(System.nanoTime() - startedNanos));
    }

    /**
     * Counters of a simulator.
     *
     * @param displays     displays simulated
     * @param online       displays online now
     * @param published    QoS 1 messages handed to the client
     * @param acknowledged of those, acknowledged by the broker (PUBACK with a success reason code)
     * @param failed       of those, refused by the broker or failed (not connected, PUBACK error such as 0x87 not authorized)
     * @param commands     commands answered (each command id once)
     * @param uptime       time since start
     */
    public record Stats(int displays, int online, long published, long acknowledged, long failed, long commands, Duration uptime) {
    }

    // ---- load -------------------------------------------------------------------------------------

    /**
     * Publishes {@code count} heartbeats (QoS 1, round-robin over the online displays) at
     * {@code perSecond} messages per second, at most {@link SimulatorConfig#maxInFlight()} waiting
     * for their PUBACK at once, and waits for the last acknowledgement. The calling thread paces.
     *
     * @param count     messages to publish (≥ 0)
     * @param perSecond target rate; ≤ 0 = as fast as the broker acknowledges
     * @return what was achieved
     * @throws IllegalStateException when no display is online
     */
    public LoadResult publishAtRate(long count, double perSecond) throws InterruptedException {
        List<SimulatedDisplay> online = displays.stream().filter(d -> d.state() == SimulatedDisplay.State.ONLINE).toList();
        if (online.isEmpty()) {
            throw new IllegalStateException("no display is online");
        }
        Semaphore inFlight = new Semaphore(config.maxInFlight());
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger bad = new AtomicInteger();
        long start = System.nanoTime();
        long sent = 0;
        while (sent < count && !closed) {
            long due = perSecond <= 0 ? count : Math.min(count, (long) ((System.nanoTime() - start) / 1e9 * perSecond) + 1);
            if (sent >= due) {
                LockSupport.parkNanos(Math.min(1_000_000L, (long) (1e9 / perSecond)));
                continue;
            }
            while (sent < due) {
                inFlight.acquire();
                SimulatedDisplay d = online.get((int) (sent % online.size()));
                d.loadHeartbeat().whenComplete((success, e) -> {
                    if (Boolean.TRUE.equals(success)) {
                        ok.incrementAndGet();
                    } else {
                        bad.incrementAndGet();
                    }
                    inFlight.release();
                });
                sent++;
            }
        }
        inFlight.acquire(config.maxInFlight());
        inFlight.release(config.maxInFlight());
        return new LoadResult(sent, ok.get(), bad.get(), Duration.ofNanos(System.nanoTime() - start), perSecond);
    }

    // ---- faults by index ---------------------------------------------------------------------------

    /** The app of display {@code index} crashes ({@link SimulatedDisplay#crash()}). */
    public void crash(int index) {
        display(index).crash();
    }

    /** Display {@code index} hangs ({@link SimulatedDisplay#hang()}). */
    public void hang(int index) {
        display(index).hang();
    }

    /** Display {@code index} flaps {@code times} times ({@link SimulatedDisplay#flap(int)}). */
    public void flap(int index, int times) {
        display(index).flap(times);
    }

    // ---- shared resources of the displays -----------------------------------------------------------

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    java.util.concurrent.Executor executor() {
        return scheduler;
    }

    MqttClientExecutorConfig executorConfig() {
        return executorConfig;
    }

    MqttClientSslConfig sslConfig() {
        return sslConfig;
    }

    void commandAnswered() {
        commandsAnswered.increment();
    }

    /**
     * Counts a QoS 1 publish and its outcome.
     *
     * @return completes with whether the broker acknowledged it with a success reason code
     */
    CompletableFuture<Boolean> publishing(CompletableFuture<Mqtt5PublishResult> sent) {
        published.increment();
        return sent.handle((result, e) -> {
            boolean success = e == null && result.getError().isEmpty();
            if (success) {
                acknowledged.increment();
            } else {
                failed.increment();
            }
            return success;
        });
    }

    private static MqttClientSslConfig sslConfig(SimulatorConfig config) {
        var builder = MqttClientSslConfig.builder();
        if (config.caFile() != null) {
            try (InputStream in = Files.newInputStream(config.caFile())) {
                KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
                trust.load(null, null);
                int i = 0;
                for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    trust.setCertificateEntry("ca-" + i++, cert);
                }
                if (i == 0) {
                    throw new IllegalArgumentException("no certificate in the CA file " + config.caFile());
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
                builder = builder.trustManagerFactory(tmf);
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot read the CA file " + config.caFile() + ": " + e.getMessage(), e);
            }
        }
        return builder.build();
    }

    private static ThreadFactory daemonThreads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Takes every display offline gracefully (retained {@code offline}, then DISCONNECT) and
     * stops the threads. Waits up to 10 s for the goodbyes.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        CompletableFuture<?>[] goodbyes = displays.stream().map(SimulatedDisplay::close).toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(goodbyes).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.warn("not every display said goodbye in time: {}", e.toString());
        }
        scheduler.shutdownNow();
    }
}
