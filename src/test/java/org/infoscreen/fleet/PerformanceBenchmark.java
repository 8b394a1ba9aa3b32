package org.infoscreen.fleet;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.infoscreen.fleet.simulator.FleetSimulator;
import org.infoscreen.fleet.simulator.LoadResult;
import org.infoscreen.fleet.simulator.SimulatorConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The performance benchmark of issue #8 ({@code mvn -B -Pbench verify}; never part of
 * {@code mvn test}: tag {@code bench}, and it runs only with {@code -Dfleet.bench=true}, which the
 * profile sets). Prints one table (docs/performance.md explains every line):
 * <ul>
 *   <li>drain time of N messages preloaded into three persistent sessions of one mosquitto
 *       process with the project's {@code mosquitto/} config: (a) {@code mosquitto_sub}, (b) a bare
 *       Paho MQTT 5 subscriber that only counts, (c) the service's ingest (a service process on
 *       its own PostgreSQL schema) until every message is committed; the ratios (c)/(b), (c)/(a);</li>
 *   <li>publish → row committed p50/p99 at a steady rate (the simulator as load, probe displays
 *       whose commits PostgreSQL reports with NOTIFY);</li>
 *   <li>{@code GET /api/monitoring/overview} p50 with 10k clients, the liveness sweep over 100k
 *       clients (seeded with SQL) and the service's RSS with 100k clients.</li>
 * </ul>
 * Each figure is the median of {@code bench.runs} runs after a warm-up. Fails when the correctness
 * gate fails: every published message received / ingested (QoS 1 duplicates aside), the broker's
 * {@code $SYS/broker/publish/messages/dropped} stays 0 and its log has no "dropped", every
 * {@code service_failed} stored once, every ack applied as its own transition.
 *
 * <p>Properties (all {@code -D}): {@code bench.n} (20000), {@code bench.displays} (1000),
 * {@code bench.runs} (3), {@code bench.rate} (5000), {@code bench.latency.seconds} (15),
 * {@code bench.rest.clients} (10000), {@code bench.sweep.clients} (100000),
 * {@code bench.service.jvm} ({@code -Xmx256m}, the image's default heap), {@code bench.phases} ({@code drain,latency,rest}), {@code bench.service.env} (extra service
 * environment, {@code K=V,K=V}, e.g. {@code DATABASE_POOL_SIZE=4}).
 */
@Tag("bench")
@EnabledIfSystemProperty(named = "fleet.bench", matches = "true",
        disabledReason = "benchmark: mvn -B -Pbench verify (docs/performance.md)")
class PerformanceBenchmark {

    private static final String PREFIX = "infoscreen";
    private static final String SERVICE_ID = "bench-svc";
    private static final String PROBE_ID = SERVICE_ID + "-probe";
    private static final String PAHO_ID = "bench-paho";
    private static final String SUB_ID = "bench-mosquitto-sub";
    private static final String[] FILTERS = {PREFIX + "/+/+", PREFIX + "/+/commands/ack"};

    private final int n = Integer.getInteger("bench.n", 20_000);
    private final int displays = Integer.getInteger("bench.displays", 1_000);
    private final int runs = Integer.getInteger("bench.runs", 3);
    private final int rate = Integer.getInteger("bench.rate", 5_000);
    private final int latencySeconds = Integer.getInteger("bench.latency.seconds", 15);
    private final int restClients = Integer.getInteger("bench.rest.clients", 10_000);
    private final int sweepClients = Integer.getInteger("bench.sweep.clients", 100_000);
    private final List<String> phases = List.of(System.getProperty("bench.phases", "drain,latency,rest").split(","));
    private final List<String> serviceJvm = List.of(System.getProperty("bench.service.jvm", "-Xmx256m").trim().split("\\s+"));

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<String> gateFailures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final Map<String, List<Double>> figures = new LinkedHashMap<>();
    private final List<UUID> displayIds = new ArrayList<>();
    private MosquittoProcess broker;
    private String dbUrl;

    @Test
    void benchmark() throws Exception {
        int events = Math.max(1, n / 100);
        int commands = Math.max(1, n / 200);
        assertThat(n - events - 2 * commands).as("bench.n must leave room for one final heartbeat per display").isGreaterThanOrEqualTo(displays);
        for (int i = 0; i < displays; i++) {
            displayIds.add(UUID.nameUUIDFromBytes(("bench-display-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        dbUrl = TestServices.databaseUrl();
        MosquittoProcess.Options options = new MosquittoProcess.Options().extraConfig("# benchmark: $SYS every second (dropped counter)\nsys_interval 1\n");
        if (n > 90_000) {
            // each session queues N (the limit is per client): above the project's 100,000 it would drop
            options.extraConfig("max_queued_messages " + (n + 10_000) + "\n");
        }
        String schema = "bench_" + Long.toHexString(System.nanoTime());
        String scaleSchema = schema + "_scale";
        broker = MosquittoProcess.start(options);
        AtomicLong dropped = new AtomicLong(-1);
        MqttAsyncClient sys = sysWatcher(dropped);
        // a killed build (Ctrl-C) must not leave the broker and the service processes behind
        List<AutoCloseable> running = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread cleanup = new Thread(() -> running.forEach(PerformanceBenchmark::closeQuietly), "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        running.add(broker);
        try (BenchProxy proxy = new BenchProxy("127.0.0.1", broker.plainPort(), SERVICE_ID, PROBE_ID);
             BenchProxy pahoProxy = new BenchProxy("127.0.0.1", broker.plainPort(), PAHO_ID)) {
            if (phases.contains("drain") || phases.contains("latency")) {
                ServiceProcess service = ServiceProcess.start(serviceEnv(schema, SERVICE_ID, proxy.url(), "600000"), serviceJvm);
                running.add(0, service);
                try {
                    service.awaitHealthy(Duration.ofSeconds(180));
                    if (phases.contains("drain")) {
                        drains(service, proxy, pahoProxy, schema, events, commands);
                        figure("ingest service RSS after the drains (MB)", rssMb(service.pid()));
                    }
                    if (phases.contains("latency")) {
                        latency(service, schema);
                    }
                } finally {
                    service.stop(Duration.ofSeconds(30));
                }
            }
            if (phases.contains("rest")) {
                ServiceProcess scale = ServiceProcess.start(serviceEnv(scaleSchema, SERVICE_ID + "-scale", broker.url(), "1000"), serviceJvm);
                running.add(0, scale);
                try {
                    scale.awaitHealthy(Duration.ofSeconds(180));
                    restAndSweep(scale, scaleSchema);
                } finally {
                    scale.stop(Duration.ofSeconds(30));
                }
            }
        } finally {
            await(() -> dropped.get() >= 0, Duration.ofSeconds(5));
            if (dropped.get() != 0) {
                gateFailures.add("broker $SYS/broker/publish/messages/dropped = " + dropped.get());
            }
            if (broker.log().contains("dropped")) {
                gateFailures.add("broker log reports dropped messages");
            }
            sys.disconnectForcibly(1000);
            sys.close();
            broker.close();
            Runtime.getRuntime().removeShutdownHook(cleanup);
            dropSchema(schema);
            dropSchema(scaleSchema);
        }
        printTable(dropped.get());
        assertThat(gateFailures).as("correctness gate").isEmpty();
    }

    // ---- drains --------------------------------------------------------------------------------

    private void drains(ServiceProcess service, BenchProxy proxy, BenchProxy pahoProxy, String schema, int events, int commands) throws Exception {
        try (Connection db = connect(schema)) {
            seedDisplays(db);
            // create the persistent sessions of (a) and (b); the service's exists already
            mosquittoSub(0, true);
            pahoDrain(pahoProxy, 0, true);
            for (int run = 0; run <= runs; run++) {
                String tag = "r" + run + "-" + Long.toHexString(System.nanoTime());
                proxy.gate();
                List<UUID> cmdIds = seedCommands(db, commands, tag);
                Instant finalTs = Instant.now().truncatedTo(ChronoUnit.MILLIS).minusSeconds(5);
                List<Msg> msgs = messages(events, cmdIds, tag, finalTs);
                long published = preload(msgs);
                if (published != msgs.size()) {
                    gateFailures.add("run " + run + ": only " + published + " of " + msgs.size() + " preloaded messages acknowledged by the broker");
                }
                double ingestedBefore = ingestedTotal(service);

                DrainResult a = mosquittoSub(msgs.size(), false);
                DrainResult b = pahoDrain(pahoProxy, msgs.size(), false);

                proxy.open();
                long done = -1;
                try {
                    // polled every 10 ms: the poll interval bounds the error of the drain time
                    Awaitility.await().atMost(Duration.ofSeconds(Math.max(120, n / 100))).pollDelay(Duration.ZERO)
                            .pollInterval(Duration.ofMillis(10))
                            .until(() -> ingestComplete(db, finalTs, tag, events, commands));
                    done = System.nanoTime();
                } catch (ConditionTimeoutException notDrained) {
                    // done stays -1: the run is reported as not drained
                }
                Long start = proxy.connectedAtNanos(SERVICE_ID);
                if (start == null && proxy.connectedAtNanos(BenchProxy.ANY) != null) {
                    // the consumer's client id is not the configured one (derived per instance?): time from the
                    // service's first connection, which is earlier than or equal to the consumer's (conservative)
                    start = proxy.connectedAtNanos(BenchProxy.ANY);
                    notes.add("run " + run + ": the consumer's CONNECT carried no client id '" + SERVICE_ID
                            + "'; (c) is timed from the service's first connection");
                }
                if (done < 0 || start == null) {
                    gateFailures.add("run " + run + ": the service did not commit every message in time ("
                            + ingestState(db, finalTs, tag) + ")");
                    continue;
                }
                double c = (done - start) / 1e9;
                double ingested = awaitIngested(service, ingestedBefore, msgs.size());
                if (ingested < msgs.size()) {
                    gateFailures.add("run " + run + ": fleet_messages_ingested_total rose by " + ingested + ", published " + msgs.size());
                }
                if (a.received < msgs.size()) {
                    gateFailures.add("run " + run + ": mosquitto_sub received " + a.received + " of " + msgs.size());
                }
                if (b.received < msgs.size()) {
                    gateFailures.add("run " + run + ": Paho received " + b.received + " of " + msgs.size());
                }
                System.out.printf(Locale.ROOT, "[bench] drain run %d%s: %d messages, (a) %.3f s, (b) %.3f s, (c) %.3f s, duplicates (b) %d (c) %.0f%n",
                        run, run == 0 ? " (warm-up)" : "", msgs.size(), a.seconds, b.seconds, c, b.received - msgs.size(), ingested - msgs.size());
                if (run > 0) {
                    figure("(a) mosquitto_sub drain (msg/s)", msgs.size() / a.seconds);
                    figure("(b) bare Paho MQTT 5 drain (msg/s)", msgs.size() / b.seconds);
                    figure("(c) service ingest drain (msg/s)", msgs.size() / c);
                    figure("ratio (c)/(b)", b.seconds / c);
                    figure("ratio (c)/(a)", a.seconds / c);
                }
            }
            // end the sessions of (a) and (b): offline, they would queue the latency runs' load until the broker drops
            endSession(SUB_ID);
            endSession(PAHO_ID);
        }
    }

    private record Msg(String topic, byte[] payload) {
    }

    private record DrainResult(double seconds, long received) {
    }

    /**
     * One run's messages: heartbeats and health snapshots round-robin over the displays (every
     * fifth a health snapshot), {@code events} service_failed and an accepted + completed ack for
     * every command spread among them, and last one heartbeat per display with {@code finalTs}.
     */
    private List<Msg> messages(int events, List<UUID> commandIds, String tag, Instant finalTs) {
        int snapshots = n - events - 2 * commandIds.size() - displays;
        Instant base = finalTs.minusMillis(snapshots + 1000L);
        List<Msg> ev = new ArrayList<>();
        for (int k = 0; k < commandIds.size(); k++) {
            ev.add(ack(displayIds.get(k % displays), commandIds.get(k), "accepted"));
        }
        for (int k = 0; k < events; k++) {
            UUID d = displayIds.get((k * 7) % displays);
            ev.add(msg(d, "service_failed", "{\"ts\":\"" + base.plusMillis(k) + "\",\"event_id\":\"" + tag + "-" + k
                    + "\",\"unit\":\"bench-" + k + ".service\",\"exit_code\":1}"));
        }
        for (int k = 0; k < commandIds.size(); k++) {
            ev.add(ack(displayIds.get(k % displays), commandIds.get(k), "completed"));
        }
        List<Msg> out = new ArrayList<>(n);
        int e = 0;
        for (int i = 0; i < snapshots; i++) {
            int d = i % displays;
            String ts = base.plusMillis(i).toString();
            if ((i / displays) % 5 == 4) {
                out.add(msg(displayIds.get(d), "health", "{\"ts\":\"" + ts + "\",\"hostname\":\"bench-" + d
                        + "\",\"process_status\":\"running\",\"boot_id\":\"boot-" + d + "\",\"app_version\":\"1.0.0\"}"));
            } else {
                out.add(heartbeat(displayIds.get(d), d, ts));
            }
            while (e < ev.size() && (long) e * snapshots <= (long) i * ev.size()) {
                out.add(ev.get(e++));
            }
        }
        while (e < ev.size()) {
            out.add(ev.get(e++));
        }
        for (int d = 0; d < displays; d++) {
            out.add(heartbeat(displayIds.get(d), d, finalTs.toString()));
        }
        return out;
    }

    private static Msg heartbeat(UUID display, int d, String ts) {
        return msg(display, "heartbeat", "{\"ts\":\"" + ts + "\",\"process_status\":\"running\",\"boot_id\":\"boot-" + d + "\"}");
    }

    private static Msg ack(UUID display, UUID command, String status) {
        return msg(display, "commands/ack", "{\"command_id\":\"" + command + "\",\"status\":\"" + status + "\",\"boot_id\":\"boot-x\"}");
    }

    private static Msg msg(UUID display, String kind, String json) {
        return new Msg(PREFIX + "/" + display + "/" + kind, json.getBytes(StandardCharsets.UTF_8));
    }

    /** Publishes at QoS 1 as fast as the broker acknowledges (64 in flight). @return acknowledged */
    private long preload(List<Msg> msgs) throws Exception {
        MqttAsyncClient c = new MqttAsyncClient(broker.url(), "bench-publisher", new MemoryPersistence());
        c.connect(broker.testUserOptions()).waitForCompletion(10_000);
        Semaphore window = new Semaphore(64);
        AtomicLong ok = new AtomicLong();
        MqttActionListener done = new MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken token) {
                ok.incrementAndGet();
                window.release();
            }

            @Override
            public void onFailure(IMqttToken token, Throwable e) {
                window.release();
            }
        };
        long t0 = System.nanoTime();
        for (Msg m : msgs) {
            window.acquire();
            c.publish(m.topic(), m.payload(), 1, false, null, done);
        }
        window.acquire(64);
        window.release(64);
        System.out.printf(Locale.ROOT, "[bench] preloaded %d messages in %.2f s%n", ok.get(), (System.nanoTime() - t0) / 1e9);
        c.disconnect().waitForCompletion(5_000);
        c.close();
        return ok.get();
    }

    /** (a): {@code mosquitto_sub -C count} on its persistent session; {@code create} only subscribes. */
    private DrainResult mosquittoSub(int count, boolean create) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mosquitto_sub", "-h", "127.0.0.1", "-p", String.valueOf(broker.plainPort()),
                "-u", MosquittoProcess.TEST_USER, "-P", broker.password(MosquittoProcess.TEST_USER), "-V", "mqttv5",
                "-i", SUB_ID, "-c", "-x", "3600", "-q", "1"));
        for (String f : FILTERS) {
            cmd.addAll(List.of("-t", f));
        }
        Path out = Files.createTempFile("bench-sub", ".txt");
        if (create) {
            cmd.add("-E");
        } else {
            cmd.addAll(List.of("-C", String.valueOf(count), "-F", "x"));
        }
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        double s = (System.nanoTime() - t0) / 1e9;
        // -F x prints one "x" per message: the count is the file size without newlines
        long received = create ? 0 : Files.readString(out).chars().filter(ch -> ch == 'x').count();
        Files.deleteIfExists(out);
        return new DrainResult(s, received);
    }

    /** (b): a Paho MQTT 5 client on its persistent session (through the proxy, like the service) that only counts. */
    private DrainResult pahoDrain(BenchProxy proxy, int count, boolean create) throws Exception {
        AtomicLong received = new AtomicLong();
        java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(1);
        MqttAsyncClient c = new MqttAsyncClient(proxy.url(), PAHO_ID, new MemoryPersistence());
        c.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse r) {
            }

            @Override
            public void mqttErrorOccurred(MqttException e) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                if (received.incrementAndGet() >= count) {
                    all.countDown();
                }
            }

            @Override
            public void deliveryComplete(IMqttToken t) {
            }

            @Override
            public void connectComplete(boolean reconnect, String uri) {
            }

            @Override
            public void authPacketArrived(int reason, MqttProperties p) {
            }
        });
        MqttConnectionOptions o = broker.testUserOptions();
        o.setAutomaticReconnect(false);
        o.setCleanStart(false);
        o.setSessionExpiryInterval(3600L);
        long t0 = System.nanoTime();
        c.connect(o).waitForCompletion(10_000);
        if (create) {
            c.subscribe(FILTERS, new int[] {1, 1}).waitForCompletion(10_000);
        } else {
            all.await(300, TimeUnit.SECONDS);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        c.disconnect().waitForCompletion(5_000);
        c.close();
        return new DrainResult(s, received.get());
    }

    /** Connects as {@code clientId} with clean start and session expiry 0: the broker discards its session. */
    private void endSession(String clientId) throws MqttException {
        MqttAsyncClient c = new MqttAsyncClient(broker.url(), clientId, new MemoryPersistence());
        MqttConnectionOptions o = broker.testUserOptions();
        o.setAutomaticReconnect(false);
        o.setCleanStart(true);
        o.setSessionExpiryInterval(0L);
        c.connect(o).waitForCompletion(10_000);
        c.disconnect().waitForCompletion(5_000);
        c.close();
    }

    private void seedDisplays(Connection db) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO clients (uuid, hostname) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
            for (int i = 0; i < displays; i++) {
                ps.setObject(1, displayIds.get(i));
                ps.setString(2, "bench-" + i);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private List<UUID> seedCommands(Connection db, int commands, String tag) throws SQLException {
        List<UUID> ids = new ArrayList<>();
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO client_commands (id, client_uuid, action, status, reason, "
                + "expires_at, published_at) VALUES (?, ?, 'restart_app', 'published', ?, now() + interval '1 day', now())")) {
            for (int k = 0; k < commands; k++) {
                UUID id = UUID.randomUUID();
                ids.add(id);
                ps.setObject(1, id);
                ps.setObject(2, displayIds.get(k % displays));
                ps.setString(3, tag);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        return ids;
    }

    /** Every display's last heartbeat, every service_failed and both transitions of every command are committed. */
    private boolean ingestComplete(Connection db, Instant finalTs, String tag, int events, int commands) throws SQLException {
        long[] s = ingestCounts(db, finalTs, tag);
        return s[0] == displays && s[1] == events && s[2] == commands && s[3] == commands && s[4] == commands;
    }

    private String ingestState(Connection db, Instant finalTs, String tag) throws SQLException {
        long[] s = ingestCounts(db, finalTs, tag);
        return String.format(Locale.ROOT, "final snapshots %d/%d, service_failed %d, commands completed %d, accepted events %d, completed events %d",
                s[0], displays, s[1], s[2], s[3], s[4]);
    }

    private long[] ingestCounts(Connection db, Instant finalTs, String tag) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT "
                + "(SELECT count(*) FROM clients WHERE last_device_ts = ?), "
                + "(SELECT count(*) FROM client_events WHERE type = 'service_failed' AND dedup_key LIKE ?), "
                + "(SELECT count(*) FROM client_commands WHERE reason = ? AND status = 'completed'), "
                + "(SELECT count(*) FROM client_events e JOIN client_commands k ON k.id = e.command_id WHERE k.reason = ? AND e.type = 'command_accepted'), "
                + "(SELECT count(*) FROM client_events e JOIN client_commands k ON k.id = e.command_id WHERE k.reason = ? AND e.type = 'command_completed')")) {
            ps.setObject(1, java.time.OffsetDateTime.ofInstant(finalTs, java.time.ZoneOffset.UTC));
            ps.setString(2, tag + "-%");
            ps.setString(3, tag);
            ps.setString(4, tag);
            ps.setString(5, tag);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5)};
            }
        }
    }

    private double awaitIngested(ServiceProcess service, double before, int published) throws Exception {
        try {
            Awaitility.await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(100))
                    .until(() -> ingestedTotal(service) - before >= published);
        } catch (ConditionTimeoutException short_) {
            // the caller reports the shortfall
        }
        return ingestedTotal(service) - before;
    }

    private static final Pattern INGESTED = Pattern.compile("(?m)^fleet_messages_ingested_total\\{[^}]*}\\s+(\\S+)$");

    private double ingestedTotal(ServiceProcess service) throws Exception {
        String metrics = get(service, "/observe/metrics").body();
        double sum = 0;
        Matcher m = INGESTED.matcher(metrics);
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    // ---- latency -------------------------------------------------------------------------------

    /**
     * Steady {@code bench.rate} msg/s from the simulator plus 50/s heartbeats of 10 probe displays
     * (hostname {@code bench-probe}); a trigger on {@code clients} NOTIFYs each probe row, and
     * PostgreSQL delivers a notification only at commit, so publish → notification is publish →
     * row committed. A heartbeat coalesced into a later one is committed with it.
     */
    private void latency(ServiceProcess service, String schema) throws Exception {
        try (Connection db = connect(schema); Statement st = db.createStatement()) {
            st.execute("CREATE OR REPLACE FUNCTION bench_probe_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    + "PERFORM pg_notify('bench_probe', NEW.uuid::text || ' ' || (extract(epoch FROM NEW.last_device_ts) * 1000)::bigint); "
                    + "RETURN NEW; END $$");
            st.execute("CREATE TRIGGER bench_probe AFTER INSERT OR UPDATE ON clients FOR EACH ROW "
                    + "WHEN (NEW.hostname = 'bench-probe') EXECUTE FUNCTION bench_probe_notify()");
        }
        int probes = 10;
        List<UUID> probeIds = new ArrayList<>();
        for (int i = 0; i < probes; i++) {
            probeIds.add(UUID.nameUUIDFromBytes(("bench-probe-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        SimulatorConfig config = SimulatorConfig.defaults().brokerUrl(broker.url()).clients(200).seed(8)
                .userName(MosquittoProcess.TEST_USER).password(broker.password(MosquittoProcess.TEST_USER))
                .topicPrefix(PREFIX).heartbeatInterval(Duration.ofHours(1)).healthInterval(Duration.ofHours(1));
        MqttAsyncClient probe = new MqttAsyncClient(broker.url(), "bench-probe", new MemoryPersistence());
        probe.connect(broker.testUserOptions()).waitForCompletion(10_000);
        for (UUID p : probeIds) {
            probe.publish(PREFIX + "/" + p + "/health", ("{\"hostname\":\"bench-probe\",\"process_status\":\"running\",\"boot_id\":\"probe\"}")
                    .getBytes(StandardCharsets.UTF_8), 1, false).waitForCompletion(10_000);
        }
        Map<UUID, ConcurrentSkipListMap<Long, Long>> pending = new ConcurrentHashMap<>();
        probeIds.forEach(p -> pending.put(p, new ConcurrentSkipListMap<>()));
        List<Double> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicLong lastTs = new AtomicLong();
        try (Connection listen = connect(schema); FleetSimulator fleet = FleetSimulator.start(config)) {
            try (Statement st = listen.createStatement()) {
                st.execute("LISTEN bench_probe");
            }
            PGConnection pg = listen.unwrap(PGConnection.class);
            fleet.awaitConnected(Duration.ofSeconds(60));
            Thread listener = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        PGNotification[] ns = pg.getNotifications(100);
                        long now = System.nanoTime();
                        for (PGNotification x : ns == null ? new PGNotification[0] : ns) {
                            String[] parts = x.getParameter().split(" ");
                            ConcurrentSkipListMap<Long, Long> p = pending.get(UUID.fromString(parts[0]));
                            if (p != null) {
                                var committed = p.headMap(Long.parseLong(parts[1]), true);
                                committed.values().forEach(t -> samples.add((now - t) / 1e6));
                                committed.clear();
                            }
                        }
                    } catch (SQLException e) {
                        return;
                    }
                }
            }, "bench-listen");
            listener.setDaemon(true);
            listener.start();
            ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
            AtomicLong seq = new AtomicLong();
            ticker.scheduleAtFixedRate(() -> {
                UUID p = probeIds.get((int) (seq.getAndIncrement() % probes));
                long ts = lastTs.updateAndGet(prev -> Math.max(prev + 1, System.currentTimeMillis()));
                pending.get(p).put(ts, System.nanoTime());
                try {
                    probe.publish(PREFIX + "/" + p + "/heartbeat", ("{\"ts\":\"" + Instant.ofEpochMilli(ts)
                            + "\",\"process_status\":\"running\",\"boot_id\":\"probe\"}").getBytes(StandardCharsets.UTF_8), 1, false);
                } catch (MqttException e) {
                    pending.get(p).remove(ts);
                }
            }, 0, 20, TimeUnit.MILLISECONDS);
            try {
                for (int run = 0; run <= runs; run++) {
                    int seconds = run == 0 ? Math.max(3, latencySeconds / 3) : latencySeconds;
                    samples.clear();
                    LoadResult load = fleet.publishAtRate((long) seconds * (rate - 50), rate - 50);
                    // the probes published until now must be committed before the next run
                    boolean keptUp = awaitTrue(() -> pending.values().stream().allMatch(m -> m.headMap(lastTs.get() - 200).isEmpty()),
                            Duration.ofSeconds(60));
                    List<Double> s = new ArrayList<>(samples);
                    Collections.sort(s);
                    double p50 = percentile(s, 0.50);
                    double p99 = percentile(s, 0.99);
                    System.out.printf(Locale.ROOT, "[bench] latency run %d%s: load %s; %d probes, p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                            run, run == 0 ? " (warm-up)" : "", load, s.size(), p50, p99, s.isEmpty() ? Double.NaN : s.get(s.size() - 1));
                    if (load.failed() > 0) {
                        gateFailures.add("latency run " + run + ": " + load.failed() + " load messages not acknowledged by the broker");
                    }
                    if (run > 0 || !keptUp) {
                        figure("publish→commit p50 at " + rate + " msg/s (ms)", p50);
                        figure("publish→commit p99 at " + rate + " msg/s (ms)", p99);
                        figure("achieved load rate (msg/s)", load.achievedRate() + 50);
                    }
                    if (!keptUp) {
                        notes.add("the ingest did not keep up with " + rate + " msg/s: its backlog was not committed 60 s after run "
                                + run + "; the latency runs stopped there (the figures include the backlog)");
                        break;
                    }
                }
            } finally {
                ticker.shutdownNow();
                ticker.awaitTermination(5, TimeUnit.SECONDS);
            }
            boolean sustained = notes.stream().noneMatch(x -> x.startsWith("the ingest did not keep up"));
            // behind the rate, the backlog may take long: the drains check loss; here only a sustained run is checked
            await(() -> pending.values().stream().allMatch(Map::isEmpty), Duration.ofSeconds(sustained ? 300 : 0));
            long lost = pending.values().stream().mapToLong(Map::size).sum();
            if (lost > 0 && sustained) {
                gateFailures.add("latency: " + lost + " probe heartbeats not committed within 300 s of the end of the load");
            }
            listener.interrupt();
        } finally {
            probe.disconnect().waitForCompletion(5_000);
            probe.close();
        }
    }

    // ---- REST, sweep, RSS ------------------------------------------------------------------------

    private void restAndSweep(ServiceProcess service, String schema) throws Exception {
        // health answers before the supervised route controller has started the REST routes
        await(() -> get(service, "/api/monitoring/overview").statusCode() == 200, Duration.ofSeconds(120));
        try (Connection db = connect(schema)) {
            seedClients(db, 0, restClients);
            get(service, "/api/monitoring/overview");
            long bodyBytes = get(service, "/api/monitoring/overview").body().getBytes(StandardCharsets.UTF_8).length;
            for (int run = 0; run <= runs; run++) {
                List<Double> s = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = get(service, "/api/monitoring/overview");
                    s.add((System.nanoTime() - t0) / 1e6);
                    if (r.statusCode() != 200) {
                        gateFailures.add("overview answered " + r.statusCode());
                    }
                }
                Collections.sort(s);
                System.out.printf(Locale.ROOT, "[bench] overview run %d%s with %d clients: p50 %.1f ms, max %.1f ms, body %d bytes%n",
                        run, run == 0 ? " (warm-up)" : "", restClients, percentile(s, 0.5), s.get(s.size() - 1), bodyBytes);
                if (run > 0) {
                    figure("GET /api/monitoring/overview p50, " + restClients + " clients (ms)", percentile(s, 0.5));
                }
            }
            seedClients(db, restClients, sweepClients);
            try (Statement st = db.createStatement()) {
                st.execute("ANALYZE clients");
            }
            for (int run = 0; run <= runs; run++) {
                double[] before = sweepTimer(service);
                await(() -> sweepTimer(service)[1] >= before[1] + 5, Duration.ofSeconds(120));
                double[] after = sweepTimer(service);
                double ms = (after[0] - before[0]) / (after[1] - before[1]) * 1000;
                System.out.printf(Locale.ROOT, "[bench] liveness sweep run %d%s over %d clients: mean %.1f ms over %.0f sweeps%n",
                        run, run == 0 ? " (warm-up)" : "", sweepClients, ms, after[1] - before[1]);
                if (run > 0) {
                    figure("liveness sweep, " + sweepClients + " clients (ms)", ms);
                }
            }
            for (int run = 0; run < runs; run++) {
                figure("service RSS, " + sweepClients + " clients, after the sweeps (MB)", rssMb(service.pid()));
            }
            List<Double> big = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                get(service, "/api/monitoring/overview");
                big.add((System.nanoTime() - t0) / 1e6);
            }
            figure("GET /api/monitoring/overview, " + sweepClients + " clients (ms, informative)", median(big));
            for (int run = 0; run < runs; run++) {
                figure("service RSS, " + sweepClients + " clients, after that overview (MB)", rssMb(service.pid()));
            }
        }
    }

    /**
     * Clients {@code from} (inclusive) to {@code to} (exclusive): fresh heartbeats, a health snapshot,
     * every 50th crashed, every 100th silent for an hour (turns stale once); a service_failed event each 20th.
     */
    private static void seedClients(Connection db, int from, int to) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO clients (uuid, hostname, ip, app_version, last_alive_at, last_device_ts, "
                + "last_health_at, process_status, boot_id, connection_state, connection_state_since, health, liveness_state, liveness_since) "
                + "SELECT md5('bench-seed-' || g)::uuid, 'seed-' || g, '10.' || (g / 65536) % 256 || '.' || (g / 256) % 256 || '.' || g % 256, "
                + "'1.0.0', CASE WHEN g % 100 = 0 THEN now() - interval '1 hour' ELSE now() END, now(), now(), "
                + "CASE WHEN g % 50 = 0 THEN 'crashed' ELSE 'running' END, 'boot-' || g, 'online', now(), "
                + "'{\"cpu_percent\": 12.5, \"memory_percent\": 41.0, \"disk_percent\": 63.2, \"temperature_c\": 48.0}'::jsonb, "
                + "CASE WHEN g % 50 = 0 THEN 'crashed' ELSE 'online' END, now() FROM generate_series(?, ?) g")) {
            ps.setInt(1, from);
            ps.setInt(2, to - 1);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO client_events (client_uuid, type, occurred_at, dedup_key, detail) "
                + "SELECT md5('bench-seed-' || g)::uuid, 'service_failed', now(), 'seed-' || g, '{\"unit\":\"x.service\"}'::jsonb "
                + "FROM generate_series(?, ?) g WHERE g % 20 = 0")) {
            ps.setInt(1, from);
            ps.setInt(2, to - 1);
            ps.executeUpdate();
        }
    }

    private static final Pattern SWEEP_SUM = Pattern.compile("(?m)^fleet_sweep_duration_seconds_sum\\{[^}]*sweep=\"liveness\"[^}]*}\\s+(\\S+)$");
    private static final Pattern SWEEP_COUNT = Pattern.compile("(?m)^fleet_sweep_duration_seconds_count\\{[^}]*sweep=\"liveness\"[^}]*}\\s+(\\S+)$");

    /** @return {sum of seconds, count} of the liveness sweep timer */
    private double[] sweepTimer(ServiceProcess service) throws Exception {
        String metrics = get(service, "/observe/metrics").body();
        Matcher s = SWEEP_SUM.matcher(metrics);
        Matcher c = SWEEP_COUNT.matcher(metrics);
        return new double[] {s.find() ? Double.parseDouble(s.group(1)) : 0, c.find() ? Double.parseDouble(c.group(1)) : 0};
    }

    private static double rssMb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    // ---- helpers -------------------------------------------------------------------------------

    private Map<String, String> serviceEnv(String schema, String clientId, String mqttUrl, String sweepIntervalMs) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("DATABASE_URL", dbUrl);
        env.put("DATABASE_SCHEMA", schema);
        env.put("MQTT_URL", mqttUrl);
        env.put("MQTT_USER", MosquittoProcess.SERVICE_USER);
        env.put("MQTT_PASSWORD_FILE", broker.servicePasswordFile().toString());
        env.put("MQTT_CLIENT_ID", clientId);
        env.put("MQTT_TOPIC_PREFIX", PREFIX);
        env.put("MQTT_SESSION_EXPIRY_S", "3600");
        env.put("MQTT_RECONNECT_MAX_DELAY_MS", "1000");
        env.put("SWEEP_INTERVAL_MS", sweepIntervalMs);
        env.put("HEARTBEAT_STALE_AFTER", "600");
        env.put("LOG_EVENTS", "false");
        env.put("COMMAND_RATE_LIMIT_PER_CLIENT", "0");
        String extra = System.getProperty("bench.service.env", "");
        for (String kv : extra.split(",")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                env.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
            }
        }
        return env;
    }

    private Connection connect(String schema) throws SQLException {
        Connection c = DriverManager.getConnection(dbUrl, "postgres", null);
        try (Statement st = c.createStatement()) {
            st.execute("SET search_path TO " + schema);
        }
        return c;
    }

    private void dropSchema(String schema) {
        try (Connection c = DriverManager.getConnection(dbUrl, "postgres", null); Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        } catch (SQLException e) {
            System.out.println("[bench] schema " + schema + " not dropped: " + e.getMessage());
        }
    }

    private HttpResponse<String> get(ServiceProcess service, String path) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(URI.create(service.baseUrl() + path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + service.adminToken()).GET().build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    private MqttAsyncClient sysWatcher(AtomicLong dropped) throws MqttException {
        MqttAsyncClient c = new MqttAsyncClient(broker.url(), "bench-sys", new MemoryPersistence());
        c.setCallback(new MqttCallback() {
            @Override
            public void disconnected(MqttDisconnectResponse r) {
            }

            @Override
            public void mqttErrorOccurred(MqttException e) {
            }

            @Override
            public void messageArrived(String topic, MqttMessage m) {
                dropped.set(Long.parseLong(new String(m.getPayload(), StandardCharsets.UTF_8).trim()));
            }

            @Override
            public void deliveryComplete(IMqttToken t) {
            }

            @Override
            public void connectComplete(boolean reconnect, String uri) {
            }

            @Override
            public void authPacketArrived(int reason, MqttProperties p) {
            }
        });
        // the monitor role of the project's ACL reads $SYS
        c.connect(broker.clientOptions(MosquittoProcess.MONITOR_USER, broker.password(MosquittoProcess.MONITOR_USER), false)).waitForCompletion(10_000);
        c.subscribe("$SYS/broker/publish/messages/dropped", 0).waitForCompletion(10_000);
        return c;
    }

    @FunctionalInterface
    private interface Check {
        boolean ok() throws Exception;
    }

    private static void await(Check check, Duration atMost) throws Exception {
        awaitTrue(check, atMost);
    }

    /** @return whether {@code check} became true within {@code atMost} (polled every 50 ms) */
    private static boolean awaitTrue(Check check, Duration atMost) throws Exception {
        try {
            Awaitility.await().atMost(atMost).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(50)).until(check::ok);
            return true;
        } catch (ConditionTimeoutException timedOut) {
            return false;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // shutting down
        }
    }

    private static double percentile(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    private void figure(String name, double value) {
        figures.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    private void printTable(long dropped) {
        StringBuilder t = new StringBuilder();
        t.append(String.format(Locale.ROOT, "%n[bench] ==== infoscreen-fleet benchmark: N=%d messages, %d displays, median of %d runs after a warm-up ====%n",
                n, displays, runs));
        t.append(String.format(Locale.ROOT, "[bench] machine: %d CPUs (nproc), Java %s, service JVM %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), String.join(" ", serviceJvm)));
        t.append(String.format(Locale.ROOT, "[bench] %-58s | %12s | %s%n", "figure", "median", "runs"));
        for (Map.Entry<String, List<Double>> e : figures.entrySet()) {
            StringBuilder each = new StringBuilder();
            for (double v : e.getValue()) {
                each.append(String.format(Locale.ROOT, "%.2f ", v));
            }
            t.append(String.format(Locale.ROOT, "[bench] %-58s | %12.2f | %s%n", e.getKey(), median(e.getValue()), each.toString().trim()));
        }
        t.append(String.format(Locale.ROOT, "[bench] broker dropped messages ($SYS): %d%n", dropped));
        for (String note : notes) {
            t.append("[bench] note: ").append(note).append('\n');
        }
        t.append("[bench] correctness gate: ").append(gateFailures.isEmpty() ? "PASSED" : "FAILED " + gateFailures).append('\n');
        System.out.print(t);
        try {
            Path out = Path.of("target", "bench-results.txt");
            Files.createDirectories(out.getParent());
            Files.writeString(out, t.toString());
        } catch (IOException e) {
            // the console has it
        }
    }
}
