package org.infoscreen.fleet.ingest;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Coalescing and batching of snapshots, without Camel or a database (the writer is a list). */
class SnapshotCoalescerTest {

    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 12, 1, 12, 0, 0, 0, ZoneOffset.UTC);

    private final List<SnapshotCoalescer.Batch> written = new CopyOnWriteArrayList<>();
    private final List<String> settled = new CopyOnWriteArrayList<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private final SnapshotCoalescer coalescer = new SnapshotCoalescer(500, Duration.ofSeconds(30), Duration.ofMillis(500), batch -> {
        if (failuresLeft.getAndDecrement() > 0) {
            throw new IllegalStateException("database down");
        }
        written.add(batch);
    });

    @AfterEach
    void stop() throws InterruptedException {
        coalescer.stop();
    }

    private static Map<String, Object> snapshot(UUID uuid, String kind, int second, String boot, Integer tsSecond, String hostname) {
        Map<String, Object> m = new HashMap<>();
        m.put("uuid", uuid);
        m.put("kind", kind);
        m.put("received_at", T0.plusSeconds(second));
        m.put("device_ts", tsSecond == null ? null : T0.plusSeconds(tsSecond));
        m.put("boot_id", boot);
        m.put("process_status", "running");
        m.put("hostname", hostname);
        m.put("health", "health".equals(kind) ? "{\"hostname\":\"" + hostname + "\"}" : null);
        return m;
    }

    private SnapshotCoalescer.Completion completion(String name) {
        return new SnapshotCoalescer.Completion() {
            @Override
            public void committed() {
                settled.add(name);
            }

            @Override
            public void abandoned() {
                settled.add(name + ":abandoned");
            }
        };
    }

    @Test
    void snapshotsOfOneClientBecomeOneRowWithTheNewestFieldsAndEarlierOnesKept() {
        coalescer.start();
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        coalescer.add(snapshot(a, "health", 1, "boot-1", 1, "first"), false, completion("a1"));
        coalescer.add(snapshot(b, "heartbeat", 2, "boot-9", null, null), false, completion("b1"));
        coalescer.add(snapshot(a, "heartbeat", 3, "boot-1", 3, null), false, completion("a2"));
        assertThat(settled).as("nothing acknowledged before the commit").isEmpty();
        coalescer.add(snapshot(a, "health", 4, "boot-1", 4, "second"), true, completion("a3"));

        await().atMost(Duration.ofSeconds(5)).until(() -> settled.size() == 4);
        assertThat(written).hasSize(1);
        SnapshotCoalescer.Batch batch = written.get(0);
        assertThat(batch.rows()).hasSize(2);
        assertThat(batch.heartbeats()).isEqualTo(2);
        assertThat(batch.healths()).isEqualTo(2);
        assertThat(batch.receivedAt()).hasSize(4);
        Map<String, Object> rowA = batch.rows().stream().filter(r -> a.equals(r.get("uuid"))).findFirst().orElseThrow();
        assertThat(rowA).containsEntry("hostname", "second").containsEntry("received_at", T0.plusSeconds(4))
                .containsEntry("health_received_at", T0.plusSeconds(4)).containsEntry("device_ts", T0.plusSeconds(4));
        assertThat(settled).containsExactlyInAnyOrder("a1", "b1", "a2", "a3");
    }

    @Test
    void anOlderSnapshotOfTheSameBootOnlyCountsForLiveness() {
        Map<String, Object> merged = SnapshotCoalescer.first(snapshot(UUID.randomUUID(), "health", 1, "boot-1", 30, "newer"));
        Map<String, Object> next = snapshot((UUID) merged.get("uuid"), "health", 2, "boot-1", 0, "older");
        Map<String, Object> row = SnapshotCoalescer.merge(merged, next);
        assertThat(row).containsEntry("hostname", "newer").containsEntry("device_ts", T0.plusSeconds(30))
                .containsEntry("received_at", T0.plusSeconds(2));
    }

    @Test
    void snapshotsOfDifferentBootsAreNeverMergedIntoOneRow() {
        coalescer.start();
        UUID a = UUID.randomUUID();
        coalescer.add(snapshot(a, "health", 1, "boot-1", null, "first boot"), false, completion("a1"));
        coalescer.add(snapshot(a, "health", 2, "boot-2", null, "second boot"), true, completion("a2"));

        await().atMost(Duration.ofSeconds(5)).until(() -> settled.size() == 2);
        assertThat(written).hasSize(2);
        assertThat(written.get(0).rows().get(0)).containsEntry("boot_id", "boot-1");
        assertThat(written.get(1).rows().get(0)).containsEntry("boot_id", "boot-2");
    }

    @Test
    void aFailedBatchIsWrittenAgainAndAcknowledgedOnlyOnceCommitted() {
        failuresLeft.set(2);
        coalescer.start();
        coalescer.add(snapshot(UUID.randomUUID(), "heartbeat", 1, null, null, null), true, completion("x"));

        await().atMost(Duration.ofSeconds(10)).until(() -> settled.size() == 1);
        assertThat(failuresLeft.get()).isNegative();
        assertThat(written).hasSize(1);
        assertThat(settled).containsExactly("x");
    }

    @Test
    void anEventWaitsForThePendingSnapshotOfItsClientOnly() {
        coalescer.start();
        UUID a = UUID.randomUUID();
        coalescer.add(snapshot(a, "heartbeat", 1, null, null, null), false, completion("a"));
        coalescer.awaitCommitted(UUID.randomUUID()); // another client: returns at once, nothing written
        assertThat(written).isEmpty();

        coalescer.awaitCommitted(a); // writes the pending batch now instead of after the 30 s window
        assertThat(written).hasSize(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> settled.size() == 1);
        assertThat(settled).containsExactly("a");
    }

    @Test
    void stoppingAbandonsWhatIsNotCommitted() throws InterruptedException {
        failuresLeft.set(Integer.MAX_VALUE);
        coalescer.start();
        coalescer.add(snapshot(UUID.randomUUID(), "heartbeat", 1, null, null, null), true, completion("x"));
        coalescer.add(snapshot(UUID.randomUUID(), "heartbeat", 2, null, null, null), false, completion("y"));
        coalescer.stop();
        assertThat(settled).containsExactlyInAnyOrder("x:abandoned", "y:abandoned");
        assertThat(written).isEmpty();
    }
}
