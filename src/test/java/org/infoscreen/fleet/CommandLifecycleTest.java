package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The command lifecycle end to end (DESIGN.md §2, §4): the REST operations, the MQTT message a
 * display receives, every transition through acks (one event each, forward only), quarantined
 * acks, reboot confirmation by a new boot_id, cancel, and the lockout. Lockout 3 s, command
 * sweep every 300 ms, boot timeout 3 s; every test uses its own display (client).
 */
class CommandLifecycleTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int LOCKOUT_S = 3;

    private final List<TestDisplay> displays = new ArrayList<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(4);
    /** A registered display that only ever receives invalid requests (shared by the 400 cases). */
    private TestDisplay bystander;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.commands.lockout-s", String.valueOf(LOCKOUT_S));
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.boot-timeout-s", "3");
        return p;
    }

    @AfterEach
    void closeDisplays() {
        displays.forEach(TestDisplay::close);
        displays.clear();
    }

    @AfterAll
    void stopPool() {
        pool.shutdownNow();
        if (bystander != null) {
            bystander.close();
        }
    }

    // ---- POST /api/clients/{uuid}/commands -------------------------------------------------

    @Test
    void createAnswers202WithTheCommandAndWritesQueuedAndPublishedOnce() {
        TestDisplay d = display().silent();
        Instant before = Instant.now();
        HttpResponse<String> r = httpPost("/api/clients/" + d.uuid() + "/commands",
                "{\"action\":\"restart_app\",\"reason\":\"frozen screen\",\"ttl_s\":120}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode c = json(r.body());
        String id = c.path("id").asText();
        assertThat(UUID.fromString(id)).isNotNull();
        assertThat(c.path("client_uuid").asText()).isEqualTo(d.uuid().toString());
        assertThat(c.path("action").asText()).isEqualTo("restart_app");
        assertThat(c.path("status").asText()).isIn("queued", "published");
        assertThat(c.path("origin").asText()).isEqualTo("manual");
        assertThat(c.path("reason").asText()).isEqualTo("frozen screen");
        assertThat(c.path("requested_by").asText()).isEqualTo(tokenName(org.infoscreen.fleet.security.Role.ADMIN));
        assertThat(c.path("forced").asBoolean()).isFalse();
        Instant created = Instant.parse(c.path("created_at").asText());
        assertThat(created).isBetween(before.minusSeconds(1), Instant.now().plusSeconds(1));
        assertThat(Duration.between(created, Instant.parse(c.path("expires_at").asText())).toSeconds()).isBetween(119L, 120L);
        assertThat(iterable(c.fieldNames())).allMatch(f -> f.matches("[a-z0-9_]+"), "snake_case");

        await().atMost(WAIT).until(() -> "published".equals(status(id)));
        JsonNode got = getJson("/api/commands/" + id);
        assertThat(got.path("status").asText()).isEqualTo("published");
        assertThat(got.path("published_at").isTextual()).isTrue();
        assertThat(got.path("acked_at").isNull()).isTrue();
        assertThat(got.path("finished_at").isNull()).isTrue();
        assertThat(got.path("version").asInt()).isEqualTo(1);
        assertThat(commandEvents(id, "command_queued")).isEqualTo(1);
        assertThat(commandEvents(id, "command_published")).isEqualTo(1);

        JsonNode list = getJson("/api/clients/" + d.uuid() + "/commands");
        assertThat(list.path("count").asInt()).isEqualTo(1);
        assertThat(list.path("commands").get(0).path("id").asText()).isEqualTo(id);
    }

    @Test
    void createWithoutTtlUsesTheDefaultTtl() {
        TestDisplay d = display().silent();
        JsonNode c = json(created(d.uuid(), "{\"action\":\"shutdown_host\"}").body());
        assertThat(Duration.between(Instant.parse(c.path("created_at").asText()), Instant.parse(c.path("expires_at").asText())).toSeconds())
                .as("fleet.commands.default-ttl-s").isBetween(299L, 300L);
        assertThat(c.path("reason").isNull()).isTrue();
    }

    @ParameterizedTest(name = "[{index}] {1}: {0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{\"action\":\"format_disk\"}                          | unknown_action",
            "{\"action\":\"power_cycle\"}                          | unknown_action",
            "{\"action\":\"RESTART_APP\"}                          | unknown_action",
            "{\"action\":42}                                       | unknown_action",
            "{\"reason\":\"no action\"}                            | unknown_action",
            "{\"action\":\"restart_app\",\"ttl_s\":9}              | invalid_ttl",
            "{\"action\":\"restart_app\",\"ttl_s\":0}              | invalid_ttl",
            "{\"action\":\"restart_app\",\"ttl_s\":-60}            | invalid_ttl",
            "{\"action\":\"restart_app\",\"ttl_s\":86401}          | invalid_ttl",
            "{\"action\":\"restart_app\",\"ttl_s\":99999999999}    | invalid_ttl",
            "{\"action\":\"restart_app\",\"ttl_s\":60.5}           | invalid_ttl",
            "{\"action\":\"restart_app\",\"ttl_s\":\"60\"}         | invalid_ttl",
            "not json                                              | invalid_body",
            "`{\"action\":\"restart_app\"`                         | invalid_body",
            "[\"restart_app\"]                                     | invalid_body",
            "\"restart_app\"                                       | invalid_body",
            "{\"action\":\"restart_app\",\"forced\":true}          | invalid_body",
            "{\"action\":\"restart_app\",\"force\":\"yes\"}        | invalid_body",
            "{\"action\":\"restart_app\",\"reason\":7}             | invalid_body",
            "`{\"action\":\"restart_app\"} {\"action\":\"reboot_host\"}` | invalid_body",
    })
    void invalidCommandRequestIs400AndQueuesNothing(String body, String code) {
        TestDisplay d = bystander();
        Object before = scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid());
        assertError(httpPost("/api/clients/" + d.uuid() + "/commands", body), 400, code);
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(before);
    }

    @Test
    void emptyBodyAndOverlongReasonAre400() {
        TestDisplay d = display().silent();
        assertError(httpPost("/api/clients/" + d.uuid() + "/commands", ""), 400, "invalid_body");
        assertError(httpPost("/api/clients/" + d.uuid() + "/commands",
                "{\"action\":\"restart_app\",\"reason\":\"" + "x".repeat(501) + "\"}"), 400, "invalid_body");
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
    }

    @Test
    void commandForUnknownClientIs404AndForMalformedUuidIs400() {
        UUID unknown = UUID.randomUUID();
        HttpResponse<String> r = httpPost("/api/clients/" + unknown + "/commands", "{\"action\":\"restart_app\"}");
        assertError(r, 404, "client_not_found");
        assertThat(json(r.body()).path("message").asText()).contains(unknown.toString());
        assertError(httpPost("/api/clients/not-a-uuid/commands", "{\"action\":\"restart_app\"}"), 400, "invalid_uuid");
        assertError(http("GET", "/api/clients/" + unknown + "/commands"), 404, "client_not_found");
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", unknown)).isEqualTo(0L);
    }

    // ---- the MQTT message ------------------------------------------------------------------

    @Test
    void publishedMessageCarriesPayloadQos1ExpiryResponseTopicAndCorrelationData() {
        TestDisplay d = display().silent();
        JsonNode c = json(created(d.uuid(), "{\"action\":\"reboot_host\",\"reason\":\"kiosk update\",\"ttl_s\":60}").body());
        String id = c.path("id").asText();

        await().atMost(WAIT).until(() -> d.received(id).isPresent());
        TestDisplay.Received m = d.received(id).orElseThrow();
        assertThat(m.topic()).isEqualTo(topicPrefix() + "/" + d.uuid() + "/commands");
        assertThat(m.qos()).as("published at QoS 1 (the component default would be 2)").isEqualTo(1);
        assertThat(m.retained()).isFalse();
        assertThat(m.payload().path("command_id").asText()).isEqualTo(id);
        assertThat(m.payload().path("action").asText()).isEqualTo("reboot_host");
        assertThat(m.payload().path("reason").asText()).isEqualTo("kiosk update");
        assertThat(m.payload().path("params").isObject()).isTrue();
        assertThat(Instant.parse(m.payload().path("issued_at").asText())).isEqualTo(Instant.parse(c.path("created_at").asText()));
        Instant expiresAt = Instant.parse(m.payload().path("expires_at").asText());
        assertThat(expiresAt).isEqualTo(Instant.parse(c.path("expires_at").asText()));

        long left = Duration.between(m.at(), expiresAt).toSeconds();
        assertThat(m.messageExpiryInterval()).as("MQTT 5 message expiry = seconds left until expires_at")
                .isNotNull().isBetween(Math.max(1, left - 2), left + 1).isLessThanOrEqualTo(60L);
        assertThat(m.responseTopic()).isEqualTo(topicPrefix() + "/" + d.uuid() + "/commands/ack");
        assertThat(m.correlationData()).isEqualTo(id);
        assertThat(m.properties().getContentType()).isEqualTo("application/json");

        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                .untilAsserted(() -> assertThat(d.timesReceived(id)).as("published once").isEqualTo(1));
        assertThat(status(id)).as("a silent display leaves it published").isEqualTo("published");
    }

    // ---- acks --------------------------------------------------------------------------------

    @Test
    void everyAckMovesTheCommandForwardWithOneEventEach() {
        TestDisplay d = display(); // accepted → executing → completed
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");

        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        Map<String, Object> row = commandRow(id);
        assertThat(row.get("version")).as("queued 0 → published 1 → accepted 2 → executing 3 → completed 4").isEqualTo(4);
        assertThat(row.get("acked_at")).isNotNull();
        assertThat(row.get("finished_at")).isNotNull();
        assertThat(instant(row.get("acked_at"))).isBeforeOrEqualTo(instant(row.get("finished_at")));
        assertThat(row.get("detail")).isEqualTo("test display: completed");
        assertThat(commandEventTypes(id)).containsExactly(
                "command_queued", "command_published", "command_accepted", "command_executing", "command_completed");
        assertThat(eventDetail(id, "command_accepted")).containsEntry("from", "published").containsEntry("ack", "accepted")
                .containsEntry("boot_id", d.bootId());
        assertThat(eventDetail(id, "command_executing")).containsEntry("from", "accepted");
        assertThat(eventDetail(id, "command_completed")).containsEntry("from", "executing");
        JsonNode got = getJson("/api/commands/" + id);
        assertThat(got.path("status").asText()).isEqualTo("completed");
        assertThat(got.path("version").asInt()).isEqualTo(4);
    }

    @Test
    void completedStraightAfterPublishedIsAccepted() {
        TestDisplay d = display().answering("completed");
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");

        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(commandRow(id).get("version")).isEqualTo(2);
        assertThat(commandEventTypes(id)).containsExactly("command_queued", "command_published", "command_completed");
        assertThat(eventDetail(id, "command_completed")).containsEntry("from", "published");
    }

    @Test
    void rejectedAndFailedAcksAreTerminal() {
        TestDisplay a = display().answering("rejected");
        String rejected = createdId(a.uuid(), "{\"action\":\"shutdown_host\"}");
        TestDisplay b = display().answering("accepted", "failed");
        String failed = createdId(b.uuid(), "{\"action\":\"restart_app\"}");

        await().atMost(WAIT).until(() -> "rejected".equals(status(rejected)) && "failed".equals(status(failed)));
        assertThat(commandRow(rejected).get("finished_at")).isNotNull();
        assertThat(commandRow(failed).get("detail")).isEqualTo("test display: failed");
        a.ack(rejected, "completed");
        b.ack(failed, "completed");
        flush(a);
        flush(b);
        assertThat(status(rejected)).isEqualTo("rejected");
        assertThat(status(failed)).isEqualTo("failed");
        assertThat(commandEvents(rejected, "late_ack")).isEqualTo(1);
        assertThat(commandEvents(failed, "late_ack")).isEqualTo(1);
    }

    @Test
    void ackThatWouldGoBackwardsChangesNothing() {
        TestDisplay d = display().answering("executing");
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "executing".equals(status(id)));

        d.ack(id, "accepted");
        flush(d);
        assertThat(status(id)).isEqualTo("executing");
        assertThat(commandRow(id).get("version")).isEqualTo(2);
        assertThat(commandEvents(id, "command_accepted")).isZero();
        assertThat(commandEvents(id, "late_ack")).as("not terminal: no late ack either").isZero();
    }

    @Test
    void twoAcksRacingOverMqttEndInTheHigherStateAndNeverGoBack() throws Exception {
        TestDisplay d = display().silent();
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "published".equals(status(id)));
        String ackTopic = topicPrefix() + "/" + d.uuid() + "/commands/ack";

        CountDownLatch go = new CountDownLatch(1);
        CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> {
            awaitLatch(go);
            d.ack(id, "accepted");
        }, pool);
        CompletableFuture<Void> executing = CompletableFuture.runAsync(() -> {
            awaitLatch(go);
            publishRaw(ackTopic, ("{\"command_id\":\"" + id + "\",\"status\":\"executing\"}").getBytes(StandardCharsets.UTF_8), false);
        }, pool);
        go.countDown();
        CompletableFuture.allOf(accepted, executing).get(10, TimeUnit.SECONDS);

        await().atMost(WAIT).until(() -> "executing".equals(status(id)));
        flush(d);
        assertRaceOutcome(id);
    }

    @Test
    void ackWaitingBehindAnotherAckIsStillAppliedInTheDatabase() throws Exception {
        TestDisplay d = display().silent();
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "published".equals(status(id)));
        ProducerTemplate template = context.createProducerTemplate();

        // two instances store acks for one command at the same moment: "accepted" takes the row
        // lock first, "executing" waits behind it; both statements start before either commits
        try (Connection lock = lockConnection()) {
            try (PreparedStatement ps = lock.prepareStatement("SELECT id FROM client_commands WHERE id = ? FOR UPDATE")) {
                ps.setObject(1, UUID.fromString(id));
                ps.executeQuery().close();
            }
            CompletableFuture<Object> accepted = CompletableFuture.supplyAsync(
                    () -> template.requestBodyAndHeader("direct:storeAck", ackParameters(d.uuid(), id, "accepted"), "fleetCommandId", id), pool);
            await().atMost(WAIT).until(() -> lockWaiters(lock) == 1);
            CompletableFuture<Object> executing = CompletableFuture.supplyAsync(
                    () -> template.requestBodyAndHeader("direct:storeAck", ackParameters(d.uuid(), id, "executing"), "fleetCommandId", id), pool);
            await().atMost(WAIT).until(() -> lockWaiters(lock) == 2);
            lock.commit();
            assertThat(accepted.get(10, TimeUnit.SECONDS)).isEqualTo("applied");
            assertThat(executing.get(10, TimeUnit.SECONDS)).as("the executing ack is a forward move and must not be lost")
                    .isEqualTo("applied");
        }
        assertRaceOutcome(id);
        assertThat(commandEventTypes(id)).containsExactly("command_queued", "command_published", "command_accepted", "command_executing");
    }

    @Test
    void duplicateAckChangesNothing() {
        TestDisplay d = display().answering("accepted");
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "accepted".equals(status(id)));
        Map<String, Object> before = commandRow(id);

        d.ack(id, "accepted"); // a QoS 1 duplicate
        d.ack(id, "accepted");
        flush(d);
        Map<String, Object> after = commandRow(id);
        assertThat(after.get("version")).isEqualTo(before.get("version")).isEqualTo(2);
        assertThat(after.get("acked_at")).isEqualTo(before.get("acked_at"));
        assertThat(after.get("status")).isEqualTo("accepted");
        assertThat(commandEvents(id, "command_accepted")).isEqualTo(1);
        assertThat(commandEvents(id, "late_ack")).isZero();
    }

    @Test
    void qos1DuplicateOfTheFinishingAckIsNotALateAck() {
        TestDisplay d = display();
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        Map<String, Object> before = commandRow(id);

        d.ack(id, "completed", "duplicate delivery");
        flush(d);
        assertThat(commandRow(id).get("version")).isEqualTo(before.get("version"));
        assertThat(commandEvents(id, "late_ack")).isZero();
        assertThat(commandEvents(id, "command_completed")).isEqualTo(1);
    }

    @Test
    void commandRequestWithADuplicateKeyIs400() {
        TestDisplay d = display().silent();
        HttpResponse<String> r = httpPost("/api/clients/" + d.uuid() + "/commands",
                "{\"action\":\"dance\",\"action\":\"restart_app\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        assertThat(json(r.body()).path("error").asText()).isEqualTo("invalid_body");
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
    }

    @Test
    void lateAckForAFinishedCommandIsALateAckEventOnly() {
        TestDisplay d = display();
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        Map<String, Object> before = commandRow(id);

        d.ack(id, "executing", "late from a slow display");
        flush(d);
        Map<String, Object> after = commandRow(id);
        assertThat(after.get("status")).isEqualTo("completed");
        assertThat(after.get("version")).isEqualTo(before.get("version"));
        assertThat(after.get("finished_at")).isEqualTo(before.get("finished_at"));
        assertThat(after.get("detail")).isEqualTo(before.get("detail"));
        assertThat(commandEvents(id, "late_ack")).isEqualTo(1);
        assertThat(eventDetail(id, "late_ack")).containsEntry("status", "completed").containsEntry("ack", "executing")
                .containsEntry("detail", "late from a slow display");
        assertThat(commandEvents(id, "command_executing")).isEqualTo(1);
    }

    @Test
    void ackForAnUnknownCommandIsQuarantined() {
        TestDisplay d = display();
        String unknown = UUID.randomUUID().toString();
        d.ack(unknown, "completed");
        await().atMost(WAIT).until(() -> rejected(unknown).size() == 1);
        Map<String, Object> row = rejected(unknown).get(0);
        assertThat(row).containsEntry("reason", "unknown_command")
                .containsEntry("topic", topicPrefix() + "/" + d.uuid() + "/commands/ack");
        assertThat((String) row.get("detail")).contains(unknown);
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE id = ?", UUID.fromString(unknown))).isEqualTo(0L);
    }

    @Test
    void ackFromAnotherClientsTopicIsQuarantinedAndChangesNothing() {
        TestDisplay owner = display().silent();
        TestDisplay other = display().silent();
        String id = createdId(owner.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "published".equals(status(id)));

        other.ack(id, "completed");
        await().atMost(WAIT).until(() -> rejected(id).size() == 1);
        assertThat(rejected(id).get(0)).containsEntry("reason", "client_mismatch")
                .containsEntry("topic", topicPrefix() + "/" + other.uuid() + "/commands/ack");
        assertThat(status(id)).isEqualTo("published");
        assertThat(commandRow(id).get("version")).isEqualTo(1);
        assertThat(scalar("SELECT count(*) FROM client_events WHERE command_id = ? AND client_uuid = ?",
                UUID.fromString(id), other.uuid())).isEqualTo(0L);
    }

    // ---- reboot_host -------------------------------------------------------------------------

    @Test
    void rebootHostIsCompletedOnlyByAHeartbeatWithANewBootId() {
        TestDisplay d = display().comesBackAfterReboot(false); // acks accepted, executing, completed
        String oldBoot = d.bootId();
        String id = createdId(d.uuid(), "{\"action\":\"reboot_host\",\"ttl_s\":60}");
        await().atMost(WAIT).until(() -> "executing".equals(status(id)));
        flush(d);
        d.heartbeat(); // same boot: proves nothing
        flush(d);
        assertThat(status(id)).as("the device's own 'completed' keeps a reboot executing").isEqualTo("executing");
        assertThat(commandRow(id).get("finished_at")).isNull();
        assertThat(commandEvents(id, "command_completed")).isZero();

        String newBoot = "boot-" + UUID.randomUUID();
        d.publish("heartbeat", "{\"boot_id\":\"" + newBoot + "\"}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat((String) commandRow(id).get("detail")).contains(newBoot);
        assertThat(commandEvents(id, "command_completed")).isEqualTo(1);
        assertThat(eventDetail(id, "command_completed")).containsEntry("confirmed_by", "new boot_id").containsEntry("boot_id", newBoot);
        assertThat(commandEvents(id, "reboot_detected")).isEqualTo(1);
        assertThat(eventDetail(id, "reboot_detected")).containsEntry("expected", "true")
                .containsEntry("previous_boot_id", oldBoot).containsEntry("boot_id", newBoot);
        assertThat(events(d.uuid(), "reboot_detected")).isEqualTo(1);
    }

    @Test
    void rebootHostByTheScriptedDisplayCompletesWhenItComesBack() {
        TestDisplay d = display(); // acks, then a health snapshot from a new boot
        String id = createdId(d.uuid(), "{\"action\":\"reboot_host\",\"ttl_s\":60}");
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(commandEvents(id, "command_completed")).isEqualTo(1);
        assertThat(eventDetail(id, "reboot_detected")).containsEntry("expected", "true").containsEntry("boot_id", d.bootId());
        assertThat(getJson("/api/clients/" + d.uuid()).path("boot_id").asText()).isEqualTo(d.bootId());
    }

    @Test
    void rebootHostWithoutANewBootIdFailsAfterTheBootTimeout() {
        TestDisplay d = display().comesBackAfterReboot(false);
        d.keepBeating(Duration.ofMillis(500)); // alive, but never rebooted
        String id = createdId(d.uuid(), "{\"action\":\"reboot_host\",\"ttl_s\":60}");
        await().atMost(WAIT).until(() -> "executing".equals(status(id)));

        await().atMost(WAIT).until(() -> "failed".equals(status(id)));
        Map<String, Object> row = commandRow(id);
        assertThat((String) row.get("detail")).contains("boot_id").contains("3 s");
        assertThat(row.get("finished_at")).isNotNull();
        Duration took = Duration.between(instant(row.get("acked_at")), instant(row.get("finished_at")));
        assertThat(took).as("failed after the boot timeout, not before").isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                assertThat(commandEvents(id, "command_failed")).isEqualTo(1));
        assertThat((String) eventDetail(id, "command_failed").get("detail")).contains("boot_id");
        assertThat(commandEvents(id, "command_expired")).isZero();

        // the reboot finally happens: the failed command stays failed, the reboot is unexpected now
        d.stopBeating();
        d.publish("heartbeat", "{\"boot_id\":\"boot-much-later\"}");
        await().atMost(WAIT).until(() -> events(d.uuid(), "reboot_detected") == 1);
        assertThat(status(id)).isEqualTo("failed");
        assertThat(scalar("SELECT detail->>'expected' FROM client_events WHERE client_uuid = ? AND type = 'reboot_detected'", d.uuid()))
                .isEqualTo("false");
    }

    // ---- cancel --------------------------------------------------------------------------------

    @Test
    void cancelWhilePublishedCancelsOnceAndLaterAcksAreLate() {
        TestDisplay d = display().silent();
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "published".equals(status(id)));

        HttpResponse<String> r = http("POST", "/api/commands/" + id + "/cancel");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode c = json(r.body());
        assertThat(c.path("id").asText()).isEqualTo(id);
        assertThat(c.path("status").asText()).isEqualTo("cancelled");
        assertThat(c.path("finished_at").isTextual()).isTrue();
        assertThat(commandEvents(id, "command_cancelled")).isEqualTo(1);
        assertThat(eventDetail(id, "command_cancelled")).containsEntry("from", "published").containsEntry("requested_by", tokenName(org.infoscreen.fleet.security.Role.ADMIN));

        assertError409(http("POST", "/api/commands/" + id + "/cancel"), "not_cancellable");
        d.ack(id, "accepted");
        flush(d);
        assertThat(status(id)).isEqualTo("cancelled");
        assertThat(commandEvents(id, "late_ack")).isEqualTo(1);
        assertThat(commandEvents(id, "command_cancelled")).isEqualTo(1);
    }

    @Test
    void cancelWhileQueuedMeansItIsNeverPublished() throws Exception {
        TestDisplay d = display().silent();
        UUID id = UUID.randomUUID();
        context.getRouteController().stopRoute("sweep-commands");
        try {
            // a command still waiting for the broker (as after a broker outage)
            update("""
                    INSERT INTO client_commands (id, client_uuid, action, expires_at)
                    VALUES (?, ?, 'restart_app', now() + interval '5 minutes')""", id, d.uuid());
            HttpResponse<String> r = http("POST", "/api/commands/" + id + "/cancel");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(json(r.body()).path("status").asText()).isEqualTo("cancelled");
            assertThat(eventDetail(id.toString(), "command_cancelled")).containsEntry("from", "queued");
        } finally {
            context.getRouteController().startRoute("sweep-commands");
        }
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(status(id.toString())).isEqualTo("cancelled");
            assertThat(d.received()).isEmpty();
        });
        assertThat(commandEvents(id.toString(), "command_published")).isZero();
    }

    @Test
    void cancelAfterTheDeviceAcceptedIs409() {
        TestDisplay d = display().answering("accepted");
        String id = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "accepted".equals(status(id)));

        HttpResponse<String> r = http("POST", "/api/commands/" + id + "/cancel");
        assertError409(r, "not_cancellable");
        assertThat(json(r.body()).path("message").asText()).contains("accepted");
        assertThat(status(id)).isEqualTo("accepted");
        assertThat(commandEvents(id, "command_cancelled")).isZero();
    }

    @Test
    void getAndCancelOfAnUnknownOrMalformedIdAre404And400() {
        String unknown = UUID.randomUUID().toString();
        assertError(http("GET", "/api/commands/" + unknown), 404, "command_not_found");
        assertError(http("POST", "/api/commands/" + unknown + "/cancel"), 404, "command_not_found");
        assertError(http("GET", "/api/commands/not-a-command"), 400, "invalid_command_id");
        assertError(http("POST", "/api/commands/not-a-command/cancel"), 400, "invalid_command_id");
        assertError(http("GET", "/api/commands/" + unknown.substring(0, 35)), 400, "invalid_command_id");
    }

    // ---- lockout -------------------------------------------------------------------------------

    @Test
    void secondDestructiveCommandInTheLockoutIs409UntilForcedOrTheWindowEnds() {
        TestDisplay d = display().silent();
        String first = createdId(d.uuid(), "{\"action\":\"restart_app\"}");

        HttpResponse<String> refused = httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"reboot_host\"}");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
        assertThat(refused.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(refused.headers().firstValue("Retry-After")).as("Retry-After header").isPresent();
        long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isBetween(1L, (long) LOCKOUT_S);
        JsonNode body = json(refused.body());
        assertThat(body.path("error").asText()).isEqualTo("lockout");
        assertThat(body.path("command_id").asText()).as("the command holding the lockout").isEqualTo(first);
        assertThat(body.path("retry_after_s").asLong()).isEqualTo(retryAfter);
        assertThat(body.path("message").asText()).isNotBlank();
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(1L);

        HttpResponse<String> forced = httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"reboot_host\",\"force\":true}");
        assertThat(forced.statusCode()).as(forced.body()).isEqualTo(202);
        JsonNode f = json(forced.body());
        String forcedId = f.path("id").asText();
        assertThat(f.path("forced").asBoolean()).isTrue();
        assertThat(commandRow(forcedId).get("forced")).isEqualTo(true);
        assertThat(eventDetail(forcedId, "command_queued")).containsEntry("overrode_lockout_of", first).containsEntry("forced", "true");
        await().atMost(WAIT).until(() -> d.received(forcedId).isPresent());

        // the forced command holds the lockout now; after the window a plain request passes again
        HttpResponse<String> again = httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"shutdown_host\"}");
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(json(again.body()).path("command_id").asText()).isEqualTo(forcedId);
        await().atMost(Duration.ofSeconds(LOCKOUT_S + 5)).pollInterval(Duration.ofMillis(250)).until(() ->
                httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"shutdown_host\"}").statusCode() == 202);
        String last = (String) scalar("SELECT CAST(id AS text) FROM client_commands WHERE client_uuid = ? AND action = 'shutdown_host'", d.uuid());
        assertThat(eventDetail(last, "command_queued")).doesNotContainKey("overrode_lockout_of").containsEntry("forced", "false");
    }

    @Test
    void forcedCommandWithoutALockoutRecordsNoOverride() {
        TestDisplay d = display().silent();
        JsonNode c = json(created(d.uuid(), "{\"action\":\"restart_app\",\"force\":true}").body());
        assertThat(c.path("forced").asBoolean()).isTrue();
        assertThat(eventDetail(c.path("id").asText(), "command_queued")).doesNotContainKey("overrode_lockout_of");
    }

    @Test
    void commandCancelledAfterPublishingStillHoldsTheLockout() {
        // the message is already at the broker: the display may still run it
        TestDisplay d = display().silent();
        String first = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "published".equals(status(first)));
        assertThat(http("POST", "/api/commands/" + first + "/cancel").statusCode()).isEqualTo(200);

        HttpResponse<String> second = httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"restart_app\"}");
        assertThat(second.statusCode()).isEqualTo(409);
        assertThat(json(second.body()).path("command_id").asText()).isEqualTo(first);
    }

    @Test
    void lockoutFallsBackToTheEarlierCommandWhenTheForcedOneNeverRan() {
        TestDisplay d = display().silent();
        String first = createdId(d.uuid(), "{\"action\":\"reboot_host\"}");
        String forced = createdId(d.uuid(), "{\"action\":\"restart_app\",\"force\":true}");
        // the forced command never reaches the display and expires; the reboot is still deliverable
        update("UPDATE client_commands SET expires_at = now() WHERE id = ?", UUID.fromString(forced));
        await().atMost(WAIT).until(() -> "expired".equals(status(forced)));

        HttpResponse<String> third = httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"shutdown_host\"}");
        assertThat(third.statusCode()).as(third.body()).isEqualTo(409);
        assertThat(json(third.body()).path("command_id").asText()).isEqualTo(first);
    }

    @Test
    void commandCancelledWhileQueuedReleasesTheLockout() {
        TestDisplay d = display().silent();
        String first = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        await().atMost(WAIT).until(() -> "published".equals(status(first)));
        // as if the broker had been down: the command never left the service
        update("UPDATE client_commands SET status = 'queued', published_at = NULL WHERE id = ?", UUID.fromString(first));
        assertThat(http("POST", "/api/commands/" + first + "/cancel").statusCode()).isEqualTo(200);

        String second = createdId(d.uuid(), "{\"action\":\"restart_app\"}");
        assertThat(commandRow(second).get("forced")).isEqualTo(false);
    }

    @Test
    void concurrentDestructiveCommandsForOneClientPassTheLockoutOnlyOnce() throws Exception {
        TestDisplay d = display().silent();
        List<HttpResponse<String>> answers;
        // both requests reach the database while the client row is locked (as by a third request)
        try (Connection lock = lockConnection()) {
            try (PreparedStatement ps = lock.prepareStatement("SELECT uuid FROM clients WHERE uuid = ? FOR UPDATE")) {
                ps.setObject(1, d.uuid());
                ps.executeQuery().close();
            }
            CompletableFuture<HttpResponse<String>> a = CompletableFuture.supplyAsync(
                    () -> httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"restart_app\"}"), pool);
            CompletableFuture<HttpResponse<String>> b = CompletableFuture.supplyAsync(
                    () -> httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"reboot_host\"}"), pool);
            await().atMost(WAIT).until(() -> lockWaiters(lock, "lockout_until") == 2);
            lock.commit();
            answers = List.of(a.get(10, TimeUnit.SECONDS), b.get(10, TimeUnit.SECONDS));
        }
        assertThat(answers).extracting(HttpResponse::statusCode).as("one passes, the other is locked out")
                .containsExactlyInAnyOrder(202, 409);
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(1L);
    }

    // ---- crash auto-recovery is off unless switched on ------------------------------------------

    @Test
    void crashAutoRecoveryIsOffByDefault() {
        TestDisplay d = display();
        d.health("crashed");
        await().atMost(WAIT).until(() -> "crashed".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid())));

        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
            assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type LIKE 'recovery%'", d.uuid()))
                    .isEqualTo(0L);
        });
        assertThat(d.received()).isEmpty();
        assertThat(context.getRouteController().getRouteStatus("sweep-recovery")).isEqualTo(ServiceStatus.Stopped);
        JsonNode recovery = getJson("/api/monitoring/overview").path("recovery");
        assertThat(recovery.path("enabled").asBoolean()).isFalse();
        assertThat(recovery.path("paused").asBoolean()).isFalse();
    }

    // ---- helpers -------------------------------------------------------------------------------

    private TestDisplay bystander() {
        if (bystander == null) {
            bystander = registered(TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID()).silent());
        }
        return bystander;
    }

    /** A connected display that registered itself with a health snapshot (running). */
    private TestDisplay display() {
        TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID());
        displays.add(d);
        // exact transition sequences: the display answers after the service marked the command
        // published (under load its ack could otherwise overtake that mark)
        d.answeringOnlyWhen(id -> !"queued".equals(status(id)));
        return registered(d);
    }

    private TestDisplay registered(TestDisplay d) {
        d.health("running");
        await().atMost(WAIT).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        return d;
    }

    /**
     * Waits until the service has processed everything {@code d} published so far: the service
     * takes messages of one connection in order, so once an ack for an unknown command sent now
     * is quarantined, the earlier messages are stored.
     */
    private void flush(TestDisplay d) {
        String marker = UUID.randomUUID().toString();
        d.ack(marker, "accepted");
        await().atMost(WAIT).until(() -> rejected(marker).size() == 1);
    }

    private HttpResponse<String> created(UUID client, String body) {
        HttpResponse<String> r = httpPost("/api/clients/" + client + "/commands", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return r;
    }

    /** @return the detail of the newest event of a type for a command, values as text */
    private Map<String, Object> eventDetail(String id, String type) {
        Map<String, Object> out = new HashMap<>();
        query("""
                SELECT d.key, d.value FROM (SELECT detail FROM client_events WHERE command_id = ? AND type = ?
                                            ORDER BY id DESC LIMIT 1) e, jsonb_each_text(e.detail) d""", UUID.fromString(id), type)
                .forEach(r -> out.put((String) r.get("key"), r.get("value")));
        return out;
    }

    private List<Map<String, Object>> rejected(String commandId) {
        return query("SELECT topic, reason, detail, payload FROM rejected_messages WHERE payload LIKE ?", "%" + commandId + "%");
    }

    /** The outcome of two racing acks (accepted, executing) on a published command. */
    private void assertRaceOutcome(String id) {
        Map<String, Object> row = commandRow(id);
        assertThat(row.get("status")).isEqualTo("executing");
        List<String> types = commandEventTypes(id);
        List<String> transitions = types.subList(2, types.size());
        assertThat(transitions).as("accepted then executing, or executing alone; never back to accepted")
                .isIn(List.of("command_accepted", "command_executing"), List.of("command_executing"));
        assertThat(row.get("version")).as("one version per transition event").isEqualTo(1 + transitions.size());
        assertThat(commandEvents(id, "late_ack")).isZero();
    }

    /** @return acks as the ingest route hands them to direct:storeAck */
    private static Map<String, Object> ackParameters(UUID client, String id, String status) {
        Map<String, Object> p = new HashMap<>();
        p.put("uuid", client);
        p.put("kind", "commands/ack");
        p.put("received_at", OffsetDateTime.now(ZoneOffset.UTC));
        p.put("retained", false);
        p.put("device_ts", null);
        p.put("command_id", UUID.fromString(id));
        p.put("ack_status", status);
        p.put("detail", null);
        p.put("boot_id", null);
        return p;
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertError409(HttpResponse<String> r, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(json(r.body()).path("error").asText()).isEqualTo(code);
        assertThat(json(r.body()).path("message").asText()).isNotBlank();
    }

    private static Instant instant(Object value) {
        return value == null ? null : ((Timestamp) value).toInstant();
    }
}
