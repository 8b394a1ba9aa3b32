package org.infoscreen.fleet.ingest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Heartbeat and health messages are latest-state snapshots: this coalesces them per client and
 * writes them as one batch (one multi-row upsert, {@code sql/upsert-snapshots.sql}) instead of one
 * transaction per message. Events (service_failed, status, acks) never pass through here.
 *
 * <p>A batch is written when the first snapshot in it has waited the flush window, when it holds
 * {@code maxClients} clients, when the consumer says nothing more is waiting (waiting longer would
 * only delay: the broker sends no more until we acknowledge), or when an event of a client with a
 * pending snapshot must be stored after it ({@link #awaitCommitted}). Several snapshots of one client
 * in a batch are merged the way the upsert would apply them one after the other: a field missing
 * in the later one keeps the earlier value, so the batch holds each client once (a key twice in one
 * {@code INSERT … ON CONFLICT DO UPDATE} is an error). A snapshot that is older than the merged one
 * (same boot, earlier device {@code ts}, see {@code snapshot_verdict} in V10) only counts for
 * liveness. Snapshots of different boots are never merged (only the database knows which boot is
 * the newer one): the pending one is committed first.
 *
 * <p>Each message's {@link Completion} (its MQTT acknowledgement) runs only after its batch is
 * committed. A batch that cannot be written (database down) is retried with a back-off, 0.5 s
 * doubling up to {@code retryMaxDelay}, until it commits or {@link #stop()}; its messages stay
 * unacknowledged meanwhile. Snapshot maps are those of {@link DeviceMessageParser#parse}. Thread-safe;
 * one background thread writes.
 */
public final class SnapshotCoalescer {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotCoalescer.class);
    /** As in snapshot_verdict (V10): a stored ts more than this ahead of its receive time does not order snapshots. */
    private static final Duration CLOCK_AHEAD_TOLERANCE = Duration.ofSeconds(60);
    private static final long FIRST_RETRY_DELAY_MS = 500;

    /** Writes one batch in one transaction. */
    @FunctionalInterface
    public interface Writer {
        /** @throws Exception when the batch was not committed; it is written again after a back-off */
        void write(Batch batch) throws Exception;
    }

    /** What happens to one message once its batch is settled. */
    public interface Completion {
        /** The batch holding the message is committed (acknowledge it). */
        void committed();

        /** The batch was given up because the service stops (do not acknowledge: the broker redelivers). */
        void abandoned();
    }

    /**
     * One batch.
     *
     * @param rows       one merged snapshot per client, sorted by uuid (the lock order of the upsert);
     *                   keys of {@link DeviceMessageParser#parse} plus {@code health_received_at}
     * @param heartbeats heartbeat messages the batch stands for
     * @param healths    health messages the batch stands for
     * @param receivedAt server receive time of every message in the batch (UTC)
     */
    public record Batch(List<Map<String, Object>> rows, int heartbeats, int healths, List<OffsetDateTime> receivedAt) {
    }

    private static final class Pending {
        Map<String, Object> row;
        final List<Completion> completions = new ArrayList<>();
        final List<OffsetDateTime> receivedAt = new ArrayList<>();
        int heartbeats;
        int healths;
    }

    private final int maxClients;
    private final long windowNanos;
    private final long retryMaxDelayMs;
    private final Writer writer;
    private final Object lock = new Object();
    private final Object retryWait = new Object();

    private LinkedHashMap<UUID, Pending> pending = new LinkedHashMap<>();
    private Map<UUID, Pending> writing = Map.of();
    private long firstPendingNanos;
    private boolean flushNow;
    private long taken;
    private long committed;
    private volatile boolean running;
    private Thread thread;

    /**
     * @param maxClients    most clients in one batch (rows of one upsert), at least 1
     * @param window        longest time a snapshot waits for its batch (the flush window)
     * @param retryMaxDelay longest pause before a failed batch is written again
     * @param writer        writes a batch in one transaction
     */
    public SnapshotCoalescer(int maxClients, Duration window, Duration retryMaxDelay, Writer writer) {
        this.maxClients = Math.max(1, maxClients);
        this.windowNanos = Math.max(0, window.toNanos());
        this.retryMaxDelayMs = Math.max(FIRST_RETRY_DELAY_MS, retryMaxDelay.toMillis());
        this.writer = writer;
    }

    /** Starts the writer thread. */
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "ingest-snapshot-writer");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Stops the writer thread; snapshots not committed yet are abandoned (their messages stay
     * unacknowledged and the broker delivers them again after the next connect).
     */
    public void stop() throws InterruptedException {
        Thread t;
        synchronized (this) {
            running = false;
            t = thread;
            thread = null;
        }
        synchronized (lock) {
            lock.notifyAll();
        }
        synchronized (retryWait) {
            retryWait.notifyAll();
        }
        if (t != null) {
            t.join(10_000);
        }
        List<Completion> left = new ArrayList<>();
        synchronized (lock) {
            pending.values().forEach(p -> left.addAll(p.completions));
            pending = new LinkedHashMap<>();
            lock.notifyAll();
        }
        left.forEach(SnapshotCoalescer::abandon);
    }

    /**
     * Adds one snapshot to the next batch.
     *
     * @param snapshot       parsed heartbeat or health ({@link DeviceMessageParser#parse}), not retained
     * @param nothingWaiting no further message waits behind this one: write the batch now
     * @param completion     runs once the batch holding it is committed (or abandoned at stop)
     * @throws StoreUnavailableException when the coalescer is not running (the message stays unacknowledged)
     */
    public void add(Map<String, Object> snapshot, boolean nothingWaiting, Completion completion) {
        UUID uuid = (UUID) Objects.requireNonNull(snapshot.get("uuid"), "uuid");
        synchronized (lock) {
            if (!running) {
                throw new StoreUnavailableException("the snapshot writer is stopped");
            }
            Pending current = pending.get(uuid);
            if (current != null && bootChanges(current.row, snapshot)) {
                // which boot is newer only the database knows (previous_boot_ids): never merge across
                // boots, store the pending one first
                awaitCommitted(uuid);
                if (!running) {
                    throw new StoreUnavailableException("the snapshot writer is stopped");
                }
            }
            if (pending.isEmpty()) {
                firstPendingNanos = System.nanoTime();
            }
            Pending p = pending.computeIfAbsent(uuid, k -> new Pending());
            p.row = p.row == null ? first(snapshot) : merge(p.row, snapshot);
            p.completions.add(completion);
            p.receivedAt.add((OffsetDateTime) snapshot.get("received_at"));
            if ("health".equals(snapshot.get("kind"))) {
                p.healths++;
            } else {
                p.heartbeats++;
            }
            if (nothingWaiting || pending.size() >= maxClients) {
                flushNow = true;
            }
            lock.notifyAll();
        }
    }

    /**
     * Returns once every snapshot of {@code client} added so far is committed: an event of that
     * client (status, service_failed, ack) is stored after the snapshots that arrived before it.
     * Writes the pending batch at once if it holds the client.
     *
     * @param client the client's UUID
     * @throws StoreUnavailableException when the writer stops or the caller is interrupted before that
     */
    public void awaitCommitted(UUID client) {
        synchronized (lock) {
            long target;
            if (pending.containsKey(client)) {
                target = taken + 1;
                flushNow = true;
                lock.notifyAll();
            } else if (writing.containsKey(client)) {
                target = taken;
            } else {
                return;
            }
            try {
                while (running && committed < target) {
                    lock.wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StoreUnavailableException("interrupted while waiting for the client's snapshot to be stored");
            }
            if (committed < target) {
                throw new StoreUnavailableException("the snapshot writer stopped before the client's snapshot was stored");
            }
        }
    }

    /** @return snapshots (clients) waiting for or in a batch write */
    public int pendingClients() {
        synchronized (lock) {
            return pending.size() + writing.size();
        }
    }

    private void run() {
        while (running) {
            Map<UUID, Pending> batch;
            try {
                synchronized (lock) {
                    while (running && pending.isEmpty()) {
                        lock.wait();
                    }
                    while (running && !flushNow) {
                        long left = firstPendingNanos + windowNanos - System.nanoTime();
                        if (left <= 0) {
                            break;
                        }
                        lock.wait(left / 1_000_000, (int) (left % 1_000_000));
                    }
                    if (!running) {
                        return;
                    }
                    batch = pending;
                    pending = new LinkedHashMap<>();
                    writing = batch;
                    flushNow = false;
                    taken++;
                }
            } catch (InterruptedException e) {
                return;
            }
            boolean ok = write(batch);
            synchronized (lock) {
                if (ok) {
                    committed = taken;
                }
                writing = Map.of();
                lock.notifyAll();
            }
            for (Pending p : batch.values()) {
                for (Completion c : p.completions) {
                    if (ok) {
                        try {
                            c.committed();
                        } catch (RuntimeException e) {
                            LOG.warn("completing a stored snapshot failed: {}", e.getMessage());
                        }
                    } else {
                        abandon(c);
                    }
                }
            }
        }
    }

    private boolean write(Map<UUID, Pending> pendingBatch) {
        List<Map<String, Object>> rows = new ArrayList<>(pendingBatch.size());
        List<OffsetDateTime> received = new ArrayList<>();
        int heartbeats = 0;
        int healths = 0;
        for (Pending p : pendingBatch.values()) {
            rows.add(p.row);
            received.addAll(p.receivedAt);
            heartbeats += p.heartbeats;
            healths += p.healths;
        }
        rows.sort(Comparator.comparing(r -> (UUID) r.get("uuid")));
        Batch batch = new Batch(List.copyOf(rows), heartbeats, healths, List.copyOf(received));
        long delay = FIRST_RETRY_DELAY_MS;
        for (int attempt = 1; running; attempt++) {
            try {
                writer.write(batch);
                return true;
            } catch (Exception e) {
                String message = "Snapshot batch of {} clients not stored (attempt {}: {}); not acknowledged, trying again in {} ms";
                Object[] args = {rows.size(), attempt, e.getMessage(), delay};
                if (delay < retryMaxDelayMs || attempt % 10 == 0) {
                    LOG.warn(message, args);
                } else {
                    LOG.debug(message, args);
                }
                synchronized (retryWait) {
                    try {
                        if (running) {
                            retryWait.wait(delay);
                        }
                    } catch (InterruptedException ie) {
                        return false;
                    }
                }
                delay = Math.min(delay * 2, retryMaxDelayMs);
            }
        }
        return false;
    }

    private static void abandon(Completion c) {
        try {
            c.abandoned();
        } catch (RuntimeException e) {
            LOG.debug("abandoning a snapshot: {}", e.getMessage());
        }
    }

    // ---- merging (package-private for the unit test) ----------------------------------------

    static Map<String, Object> first(Map<String, Object> snapshot) {
        Map<String, Object> row = new HashMap<>(snapshot);
        row.put("health_received_at", snapshot.get("health") != null ? snapshot.get("received_at") : null);
        return row;
    }

    /**
     * @return {@code merged} with the later-arrived {@code next} (of the same boot, see
     *         {@link #bootChanges}) applied as the upsert would apply it after {@code merged}:
     *         non-null fields replace, missing ones keep the earlier value; an older {@code next}
     *         only counts for liveness
     */
    static Map<String, Object> merge(Map<String, Object> merged, Map<String, Object> next) {
        Map<String, Object> row = new HashMap<>(merged);
        OffsetDateTime nextAt = (OffsetDateTime) next.get("received_at");
        OffsetDateTime mergedAt = (OffsetDateTime) merged.get("received_at");
        OffsetDateTime latest = mergedAt == null || (nextAt != null && nextAt.isAfter(mergedAt)) ? nextAt : mergedAt;
        if (isOlder(next, merged)) {
            row.put("received_at", latest);
            return row;
        }
        for (Map.Entry<String, Object> e : next.entrySet()) {
            if (e.getValue() != null) {
                row.put(e.getKey(), e.getValue());
            }
        }
        row.put("kind", next.get("kind"));
        row.put("received_at", latest);
        if (next.get("health") != null) {
            row.put("health_received_at", nextAt);
        }
        return row;
    }

    /** @return whether both name a boot and the boots differ */
    static boolean bootChanges(Map<String, Object> merged, Map<String, Object> next) {
        Object a = merged.get("boot_id");
        Object b = next.get("boot_id");
        return a != null && b != null && !a.equals(b);
    }

    /** Same boot (or none given), both with a device ts, {@code next} earlier, and the merged ts not from a clock running ahead. */
    private static boolean isOlder(Map<String, Object> next, Map<String, Object> merged) {
        OffsetDateTime nextTs = (OffsetDateTime) next.get("device_ts");
        OffsetDateTime mergedTs = (OffsetDateTime) merged.get("device_ts");
        OffsetDateTime mergedAt = (OffsetDateTime) merged.get("received_at");
        return nextTs != null && mergedTs != null && nextTs.isBefore(mergedTs)
                && (mergedAt == null || !mergedTs.isAfter(mergedAt.plus(CLOCK_AHEAD_TOLERANCE)));
    }
}
