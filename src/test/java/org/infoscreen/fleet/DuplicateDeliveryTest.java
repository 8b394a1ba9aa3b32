package org.infoscreen.fleet;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * QoS 1 means duplicates, and acks and failures can arrive in any order: the same scripted
 * traffic is sent once in order to one set of displays (the clean run) and to a second set with
 * every message delivered twice, acks and service_failed shuffled, and the tail of each display's
 * stream redelivered again at the end (what a broker does with unacknowledged messages after a
 * reconnect). The stored state of both sets is identical: client rows, service_failed events,
 * reboots, command outcomes; nothing is quarantined.
 *
 * <p>Order that does matter is kept: a display's own snapshots (heartbeat, health, status) stay
 * in the order it sent them, as MQTT delivers one client's messages (a redelivered tail ends with
 * the newest snapshot again). The redelivered tail may reach back to a snapshot of the previous
 * boot: such a snapshot changes nothing and is no second reboot.
 */
class DuplicateDeliveryTest extends FleetTestSupport {

    private static final int DISPLAYS = 6;
    private static final Duration WAIT = Duration.ofSeconds(30);

    /** One message of a display's script; {@code orderFree} = may arrive in any order (acks, service_failed). */
    record Message(String kind, String payload, boolean orderFree) {
    }

    /** The script of display {@code n}, whose commands are {@code commands} (restart_app, then reboot_host). */
    private static List<Message> script(int n, List<String> commands) {
        String restart = commands.get(0);
        String reboot = commands.get(1);
        List<Message> m = new ArrayList<>();
        m.add(new Message("status", "{\"state\":\"online\"}", false));
        m.add(new Message("health", "{\"ts\":\"2026-11-29T12:00:00Z\",\"hostname\":\"dup-" + n + "\",\"ip\":\"10.0.0." + n
                + "\",\"app_version\":\"1.0\",\"process_status\":\"running\",\"boot_id\":\"boot-a\","
                + "\"broker_connection\":{\"reconnect_count\":" + n + ",\"last_disconnect_at\":\"2026-11-29T11:00:00Z\"}}", false));
        m.add(new Message("heartbeat", "{\"process_status\":\"running\",\"boot_id\":\"boot-a\"}", false));
        for (int k = 0; k < 4; k++) {
            m.add(new Message("service_failed", "{\"unit\":\"player.service\",\"result\":\"exit-code\",\"exit_status\":" + k
                    + ",\"event_id\":\"dup-" + n + "-" + k + "\"}", true));
        }
        // a failure without event_id: de-duplicated by its bytes
        m.add(new Message("service_failed", "{\"unit\":\"player.service\",\"result\":\"signal\"}", true));
        for (String status : List.of("accepted", "executing", "completed")) {
            m.add(new Message("commands/ack", "{\"command_id\":\"" + restart + "\",\"status\":\"" + status + "\",\"detail\":\"" + status + "\"}", true));
        }
        m.add(new Message("health", "{\"hostname\":\"dup-" + n + "\",\"app_version\":\"1.1\",\"process_status\":\"crashed\",\"boot_id\":\"boot-a\"}", false));
        for (String status : List.of("accepted", "completed")) {
            m.add(new Message("commands/ack", "{\"command_id\":\"" + reboot + "\",\"status\":\"" + status + "\",\"detail\":\"rebooting\"}", true));
        }
        m.add(new Message("heartbeat", "{\"process_status\":\"running\",\"boot_id\":\"boot-b\"}", false));
        m.add(new Message("health", "{\"hostname\":\"dup-" + n + "\",\"app_version\":\"1.2\",\"process_status\":\"running\",\"boot_id\":\"boot-b\","
                + "\"broker_connection\":{\"reconnect_count\":" + (n + 1) + "}}", false));
        m.add(new Message("status", "{\"state\":\"offline\"}", false));
        m.add(new Message("heartbeat", "{\"process_status\":\"running\",\"boot_id\":\"boot-b\"}", false));
        return m;
    }

    /**
     * Delivery with duplicates and disorder: order-free messages are shuffled among the positions of
     * order-free messages, each message is sent twice in a row, and the last {@code tail} messages
     * are sent once more at the end.
     */
    private static List<Message> storm(List<Message> script, Random random, int tail) {
        List<Message> free = new ArrayList<>(script.stream().filter(Message::orderFree).toList());
        Collections.shuffle(free, random);
        List<Message> reordered = new ArrayList<>();
        int f = 0;
        for (Message m : script) {
            reordered.add(m.orderFree() ? free.get(f++) : m);
        }
        List<Message> out = new ArrayList<>();
        for (Message m : reordered) {
            out.add(m);
            out.add(m);
        }
        out.addAll(reordered.subList(reordered.size() - tail, reordered.size()));
        return out;
    }

    @Test
    void duplicatedAndReorderedDeliveryEndsInTheSameStateAsACleanRun() {
        Random random = new Random(42);
        List<UUID> clean = new ArrayList<>();
        List<UUID> stormy = new ArrayList<>();
        Map<UUID, List<String>> commands = new LinkedHashMap<>();
        for (int n = 0; n < DISPLAYS; n++) {
            for (List<UUID> set : List.of(clean, stormy)) {
                UUID u = UUID.randomUUID();
                set.add(u);
                publish(u, "heartbeat", "{\"process_status\":\"running\",\"boot_id\":\"boot-a\"}");
            }
        }
        await().atMost(WAIT).until(() -> ((Number) scalar("SELECT count(*) FROM clients")).intValue() == 2 * DISPLAYS);
        for (UUID u : concat(clean, stormy)) {
            String restart = createdId(u, "{\"action\":\"restart_app\"}");
            String reboot = createdId(u, "{\"action\":\"reboot_host\",\"force\":true}");
            commands.put(u, List.of(restart, reboot));
        }
        await().atMost(WAIT).until(() -> commands.values().stream().flatMap(List::stream).allMatch(id -> "published".equals(status(id))));

        for (int n = 0; n < DISPLAYS; n++) {
            UUID u = clean.get(n);
            script(n, commands.get(u)).forEach(m -> publish(u, m.kind(), m.payload()));
        }
        // the stormy displays' streams interleave with each other
        List<List<Message>> streams = new ArrayList<>();
        for (int n = 0; n < DISPLAYS; n++) {
            // the redelivered tail: the last 3 to 9 messages (7 and more reach back to the crashed health of the first boot)
            streams.add(new ArrayList<>(storm(script(n, commands.get(stormy.get(n))), random, 3 + random.nextInt(7))));
        }
        while (streams.stream().anyMatch(s -> !s.isEmpty())) {
            int n = random.nextInt(DISPLAYS);
            if (!streams.get(n).isEmpty()) {
                Message m = streams.get(n).remove(0);
                publish(stormy.get(n), m.kind(), m.payload());
            }
        }
        UUID marker = UUID.randomUUID();
        publish(marker, "heartbeat", "{}");
        await().atMost(WAIT).until(() -> events(marker, "client_registered") == 1);

        for (int n = 0; n < DISPLAYS; n++) {
            UUID a = clean.get(n);
            UUID b = stormy.get(n);
            await().atMost(WAIT).untilAsserted(() -> assertThat(state(b)).isEqualTo(state(a)));
            assertThat(state(a).get("events")).as("the clean run did something").asString().contains("service_failed=5", "reboot_detected=1");
            for (int k = 0; k < 2; k++) {
                String idA = commands.get(a).get(k);
                String idB = commands.get(b).get(k);
                assertThat(command(idB)).as("command %d of display %d", k, n).isEqualTo(command(idA));
                assertThat(commandEvents(idB, "command_completed")).isEqualTo(1);
            }
        }
        assertThat(scalar("SELECT count(*) FROM rejected_messages")).isEqualTo(0L);
    }

    private static List<UUID> concat(List<UUID> a, List<UUID> b) {
        List<UUID> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The order-independent state of a client: its row (no times) and its events (types and de-duplication keys). */
    private Map<String, Object> state(UUID client) {
        Map<String, Object> s = new LinkedHashMap<>(query("""
                SELECT hostname, ip, app_version, process_status, boot_id, CAST(health AS text) AS health, connection_state,
                       service_failed_unit, service_failed_at IS NOT NULL AS service_failed, mqtt_reconnect_count,
                       mqtt_last_disconnect_at, liveness_state, recovery_state
                FROM clients WHERE uuid = ?""", client).get(0));
        s.put("events", query("""
                SELECT type || '=' || count(*) AS c FROM client_events
                WHERE client_uuid = ? AND type IN ('client_registered', 'service_failed', 'reboot_detected')
                GROUP BY type ORDER BY type""", client).stream().map(r -> r.get("c")).toList());
        s.put("service_failed_keys", query("SELECT dedup_key FROM client_events WHERE client_uuid = ? AND type = 'service_failed' ORDER BY 1",
                client).stream().map(r -> r.get("dedup_key")).toList());
        s.put("reboot_expected", query("SELECT detail ->> 'expected' AS e FROM client_events WHERE client_uuid = ? AND type = 'reboot_detected'",
                client).stream().map(r -> r.get("e")).toList());
        return s;
    }

    /** The outcome of a command, without its id, times or version (skipped states write fewer versions). */
    private Map<String, Object> command(String id) {
        return query("""
                SELECT action, status, detail, acked_at IS NOT NULL AS acked, finished_at IS NOT NULL AS finished
                FROM client_commands WHERE id = ?""", UUID.fromString(id)).get(0);
    }
}
