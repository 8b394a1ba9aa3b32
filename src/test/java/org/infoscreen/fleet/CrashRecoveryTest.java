package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.ProducerTemplate;
import org.infoscreen.fleet.recovery.RecoveryPolicy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Crash auto-recovery end to end (DESIGN.md §5) with scripted displays: the ladder
 * restart_app → reboot_host → alert, lockout, backoff and budget, exhaustion and its clearing,
 * stale displays, the fleet circuit breaker, and at most one open recovery command per client.
 * Recovery on; every sweep 300 ms; stale after 2 s; a stale display settles 3 s before recovery
 * acts; lockout 2 s; backoff 1 s (doubling); budget 3 attempts per hour; reset after 3 s stable;
 * the breaker pauses above 30 % stale and resumes at 20 % or less. Each test starts from an empty fleet.
 */
class CrashRecoveryTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final Duration BEAT = Duration.ofMillis(500);

    private final List<TestDisplay> displays = new ArrayList<>();
    private final ExecutorService pool = Executors.newFixedThreadPool(4);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.recovery.enabled", "true");
        p.setProperty("fleet.recovery.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.lockout-s", "2");
        p.setProperty("fleet.commands.boot-timeout-s", "5");
        p.setProperty("fleet.recovery.backoff-s", "1");
        p.setProperty("fleet.recovery.budget-attempts", "3");
        p.setProperty("fleet.recovery.budget-window-s", "3600");
        p.setProperty("fleet.recovery.reset-after-s", "3");
        p.setProperty("fleet.recovery.command-ttl-s", "30");
        p.setProperty("fleet.recovery.breaker-share", "0.3");
        p.setProperty("fleet.recovery.breaker-window-s", "3600");
        p.setProperty("fleet.recovery.breaker-min-clients", "5");
        p.setProperty("fleet.recovery.breaker-resume-share", "0.2");
        p.setProperty("fleet.recovery.stale-min-age-s", "3");
        p.setProperty("fleet.liveness.stale-after-s", "2");
        p.setProperty("fleet.liveness.offline-grace-s", "1");
        return p;
    }

    /** Every test starts from an empty fleet: the circuit breaker counts every client. */
    @BeforeEach
    void emptyFleet() {
        // the last beats of the previous test's displays are stored first, so none re-registers afterwards
        String marker = UUID.randomUUID().toString();
        publish(UUID.randomUUID(), "commands/ack", "{\"command_id\":\"" + marker + "\",\"status\":\"accepted\"}");
        await().atMost(WAIT).until(() -> scalar("SELECT count(*) FROM rejected_messages WHERE payload LIKE ?", "%" + marker + "%").equals(1L));
        update("DELETE FROM clients");
        update("DELETE FROM fleet_events");
        update("UPDATE fleet_state SET recovery_paused = false, recovery_paused_since = NULL, recovery_paused_detail = NULL");
    }

    @AfterEach
    void closeDisplays() {
        displays.forEach(TestDisplay::close);
        displays.clear();
    }

    @AfterAll
    void stopPool() {
        pool.shutdownNow();
    }

    // ---- the ladder ------------------------------------------------------------------------------

    @Test
    void crashedAppGetsRestartAppAndTheDisplayRecoversWithOneRecoveredEvent() {
        TestDisplay d = onlineDisplay(); // acks accepted → executing → completed, then reports running
        d.health("crashed");

        await().atMost(WAIT).until(() -> recoveryCommands(d).size() == 1);
        Map<String, Object> cmd = recoveryCommands(d).get(0);
        assertThat(cmd).containsEntry("action", "restart_app").containsEntry("origin", "crash_recovery")
                .containsEntry("requested_by", "crash-recovery").containsEntry("forced", false);
        assertThat((String) cmd.get("reason")).contains("restart_app").contains("1/3");
        String id = cmd.get("id").toString();

        await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(events(d.uuid(), "recovered")).isEqualTo(1);
            assertThat(recoveryCommands(d)).hasSize(1);
        });
        assertThat(status(id)).isEqualTo("completed");
        assertThat(d.received()).extracting(TestDisplay.Received::action).containsExactly("restart_app");
        assertThat(d.received(id)).isPresent();
        assertThat(events(d.uuid(), "crash_detected")).isEqualTo(1);
        assertThat(events(d.uuid(), "recovery_attempt")).isEqualTo(1);
        assertThat(scalar("SELECT CAST(command_id AS text) FROM client_events WHERE client_uuid = ? AND type = 'recovery_attempt'", d.uuid()))
                .isEqualTo(id);
        assertThat(events(d.uuid(), "recovery_alert")).isZero();
        assertThat(events(d.uuid(), "recovery_exhausted")).isZero();
        JsonNode client = getJson("/api/clients/" + d.uuid());
        assertThat(client.path("liveness_state").asText()).isEqualTo("online");
        assertThat(client.path("recovery_state").asText()).isEqualTo("idle");
        assertThat(scalar("SELECT recovery_last_decision FROM clients WHERE uuid = ?", d.uuid()))
                .as("the episode is over once online").isNull();
    }

    @Test
    void displayThatKeepsCrashingClimbsRestartAppRebootHostThenAnAlert() {
        TestDisplay d = onlineDisplay().afterRestartReports("crashed");
        String firstBoot = d.bootId();
        d.health("crashed");

        await().atMost(WAIT).until(() -> events(d.uuid(), "recovery_alert") == 1);
        List<Map<String, Object>> cmds = recoveryCommands(d);
        assertThat(cmds).extracting(c -> c.get("action")).containsExactly("restart_app", "reboot_host");
        assertThat(cmds).extracting(c -> c.get("status")).containsExactly("completed", "completed");
        assertThat(d.received()).extracting(TestDisplay.Received::action).containsExactly("restart_app", "reboot_host");
        assertThat(d.bootId()).isNotEqualTo(firstBoot);
        assertThat(events(d.uuid(), "reboot_detected")).isEqualTo(1);
        assertThat(scalar("SELECT detail->>'expected' FROM client_events WHERE client_uuid = ? AND type = 'reboot_detected'", d.uuid()))
                .isEqualTo("true");
        Map<String, Object> alert = eventDetail(d.uuid(), "recovery_alert");
        assertThat(alert).containsEntry("liveness_state", "crashed");
        assertThat((String) alert.get("reason")).contains("no power target");
        assertThat(scalar("SELECT command_id FROM client_events WHERE client_uuid = ? AND type = 'recovery_alert'", d.uuid())).isNull();

        // the ladder ends there: no further command, the alert is written once, not every sweep
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(recoveryCommands(d)).hasSizeLessThanOrEqualTo(3).hasSize(2);
            assertThat(events(d.uuid(), "recovery_alert")).isEqualTo(1);
        });
        assertThat(liveness(d)).isEqualTo("crashed");
        // between the two attempts the lockout held: written once, although several sweeps saw it
        assertThat(skipsBetweenAttempts(d, "lockout")).isEqualTo(1);
        assertThat(events(d.uuid(), "recovery_attempt")).isEqualTo(2);
    }

    @Test
    void lockoutFromAnOperatorsCommandDelaysRecoveryAndTheSkipIsWrittenOnce() {
        TestDisplay d = onlineDisplay().afterRestartReports("crashed"); // the operator's restart does not help
        HttpResponse<String> manual = httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"restart_app\",\"reason\":\"operator\"}");
        assertThat(manual.statusCode()).as(manual.body()).isEqualTo(202);
        String manualId = json(manual.body()).path("id").asText();
        await().atMost(WAIT).until(() -> "completed".equals(status(manualId)));

        await().atMost(WAIT).until(() -> skips(d, "lockout") == 1);
        assertThat(recoveryCommands(d)).as("no recovery command inside the lockout").isEmpty();
        Map<String, Object> skip = lastSkip(d);
        assertThat(skip).containsEntry("reason", "lockout");
        assertThat(Long.parseLong((String) skip.get("retry_after_s"))).isBetween(1L, 2L);

        await().atMost(WAIT).until(() -> recoveryCommands(d).size() == 1);
        assertThat(recoveryCommands(d).get(0)).containsEntry("action", "restart_app");
        assertThat(skips(d, "lockout")).as("one event for the whole lockout, not one per sweep").isEqualTo(1);
        assertThat(((Number) scalar("SELECT EXTRACT(EPOCH FROM (r.created_at - m.created_at)) FROM client_commands r, client_commands m "
                + "WHERE r.id = ? AND m.id = ?", recoveryCommands(d).get(0).get("id"), UUID.fromString(manualId))).doubleValue())
                .as("issued after the lockout window").isGreaterThanOrEqualTo(2.0);
    }

    @Test
    void commandInFlightHoldsTheNextStepAndTheSkipIsWrittenOnce() {
        TestDisplay d = onlineDisplay().silent();
        d.health("crashed");
        await().atMost(WAIT).until(() -> recoveryCommands(d).size() == 1);
        String id = recoveryCommands(d).get(0).get("id").toString();
        await().atMost(WAIT).until(() -> d.received(id).isPresent());

        await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(recoveryCommands(d)).as("no second step while the first is open").hasSize(1);
            assertThat(skips(d, "command_in_flight")).isEqualTo(1);
        });
        assertThat(status(id)).isEqualTo("published");
        assertThat(skips(d, "lockout")).as("in flight is checked first").isZero();
    }

    @Test
    void rejectedRecoveryCommandsClimbTheLadderWithABackoffThatDoubles() {
        // the device refuses every command: a rejected command holds no lockout, but the backoff holds
        TestDisplay d = onlineDisplay().answering("rejected");
        d.health("crashed");

        await().atMost(WAIT).until(() -> events(d.uuid(), "recovery_alert") == 1);
        List<Map<String, Object>> cmds = recoveryCommands(d);
        assertThat(cmds).extracting(c -> c.get("action")).containsExactly("restart_app", "reboot_host");
        assertThat(cmds).extracting(c -> c.get("status")).containsExactly("rejected", "rejected");
        List<Map<String, Object>> backoffs = query("""
                SELECT detail->>'backoff_s' AS backoff_s FROM client_events
                WHERE client_uuid = ? AND type = 'recovery_skipped' AND detail->>'reason' = 'backoff' ORDER BY id""", d.uuid());
        assertThat(backoffs).extracting(r -> r.get("backoff_s")).as("1 s after the first attempt, 2 s after the second, each written once")
                .containsExactly("1", "2");
        assertThat(skips(d, "lockout")).isZero();
    }

    @Test
    void nextRecoveryStepNeverComesBeforeTheBackoffHasPassed() {
        TestDisplay d = onlineDisplay().answering("rejected");
        d.health("crashed");
        await().atMost(WAIT).until(() -> events(d.uuid(), "recovery_alert") == 1);

        // measured between the commands' created_at (what the backoff is defined on); 20 ms for clocks
        List<Map<String, Object>> cmds = recoveryCommands(d);
        double firstToSecond = ((Number) scalar("SELECT EXTRACT(EPOCH FROM (b.created_at - a.created_at)) FROM client_commands a, client_commands b "
                + "WHERE a.id = ? AND b.id = ?", cmds.get(0).get("id"), cmds.get(1).get("id"))).doubleValue();
        assertThat(firstToSecond).as("backoff after attempt 1 is 1 s").isGreaterThanOrEqualTo(0.98);
        double secondToAlert = secondsBetweenEvents(d, "recovery_attempt", 2, "recovery_alert", 1);
        assertThat(secondToAlert).as("backoff after attempt 2 is 2 s").isGreaterThanOrEqualTo(1.98);
    }

    // ---- budget, exhaustion, clearing --------------------------------------------------------

    @Test
    void flappingDisplaySpendsTheBudgetAndIsMarkedExhaustedOnce() {
        double exhaustedBefore = metric("fleet_recovery_outcomes_total", "outcome", "exhausted");
        assertThat(exhaustedBefore).as("the outcome counter exists before the first outcome").isNotNaN();
        TestDisplay d = onlineDisplay(); // every restart_app helps... for a while
        for (int attempt = 1; attempt <= 3; attempt++) {
            int expected = attempt;
            d.health("crashed");
            await().atMost(WAIT).until(() -> recoveryCommands(d).size() == expected);
            await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
        }
        assertThat(recoveryCommands(d)).extracting(c -> c.get("action")).containsOnly("restart_app");
        assertThat(events(d.uuid(), "recovered")).isEqualTo(3);

        d.health("crashed"); // a fourth crash within the budget window
        await().atMost(WAIT).until(() -> "exhausted".equals(getJson("/api/clients/" + d.uuid()).path("recovery_state").asText()));
        JsonNode client = getJson("/api/clients/" + d.uuid());
        assertThat(client.path("recovery_state_since").isTextual()).isTrue();
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(events(d.uuid(), "recovery_exhausted")).isEqualTo(1);
            assertThat(recoveryCommands(d)).as("never more than the budget").hasSize(3);
        });
        assertThat(eventDetail(d.uuid(), "recovery_exhausted")).containsEntry("attempts", "3");
        assertThat(d.received()).hasSize(3);
        JsonNode overview = findClient(getJson("/api/monitoring/overview"), d.uuid());
        assertThat(overview.path("recovery_state").asText()).isEqualTo("exhausted");
        // once exhausted, the client is skipped as exhausted, never decided again
        await().atMost(WAIT).until(() -> skips(d, "exhausted") == 1);
        assertThat(metric("fleet_recovery_outcomes_total", "outcome", "exhausted") - exhaustedBefore).as("counted once").isEqualTo(1);
    }

    @Test
    void clearRecoveryMakesAnExhaustedClientIdleAndEligibleAgain() {
        TestDisplay d = onlineDisplay();
        spentBudget(d);
        d.health("crashed");
        await().atMost(WAIT).until(() -> "exhausted".equals(recoveryState(d)));
        assertThat(events(d.uuid(), "recovery_exhausted")).isEqualTo(1);

        HttpResponse<String> r = http("POST", "/api/clients/" + d.uuid() + "/clear_recovery");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r.body()).path("recovery_state").asText()).isEqualTo("idle");
        assertThat(json(r.body()).path("uuid").asText()).isEqualTo(d.uuid().toString());
        assertThat(events(d.uuid(), "recovery_cleared")).isEqualTo(1);

        // the operator's clear holds: the client is not exhausted again by the attempts before it
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(recoveryState(d)).isEqualTo("idle");
            assertThat(events(d.uuid(), "recovery_exhausted")).isEqualTo(1);
        });
        // and eligible: the crashed display gets the first step of a new ladder
        await().atMost(WAIT).until(() -> recoveryCommands(d).size() == 4);
        assertThat(recoveryCommands(d).get(3)).containsEntry("action", "restart_app");
    }

    @Test
    void clearRecoveryIsIdempotentAndAnswers404ForAnUnknownClient() {
        TestDisplay d = onlineDisplay();
        HttpResponse<String> r = http("POST", "/api/clients/" + d.uuid() + "/clear_recovery");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r.body()).path("recovery_state").asText()).isEqualTo("idle");
        assertThat(events(d.uuid(), "recovery_cleared")).as("nothing to clear").isZero();
        assertThat(http("POST", "/api/clients/" + UUID.randomUUID() + "/clear_recovery").statusCode()).isEqualTo(404);
        assertThat(http("POST", "/api/clients/nope/clear_recovery").statusCode()).isEqualTo(400);
    }

    @Test
    void exhaustedClientStableOnlineForTheResetPeriodIsIdleAgain() {
        TestDisplay d = onlineDisplay();
        spentBudget(d);
        d.health("crashed");
        await().atMost(WAIT).until(() -> "exhausted".equals(recoveryState(d)));

        d.health("running"); // fixed on site
        await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
        await().atMost(WAIT).until(() -> "idle".equals(recoveryState(d)));
        assertThat(events(d.uuid(), "recovery_reset")).isEqualTo(1);
        assertThat(((Number) scalar("""
                SELECT EXTRACT(EPOCH FROM (r.occurred_at - c.occurred_at)) FROM client_events r, client_events c
                WHERE r.client_uuid = ? AND r.type = 'recovery_reset' AND c.client_uuid = r.client_uuid AND c.type = 'recovered'""",
                d.uuid())).doubleValue()).as("after reset-after-s of stable online").isGreaterThanOrEqualTo(3.0);
        assertThat(getJson("/api/clients/" + d.uuid()).path("recovery_state").asText()).isEqualTo("idle");
    }

    // ---- stale displays ------------------------------------------------------------------------

    @Test
    void staleDisplayGetsOneAlertAndNoMqttCommand() {
        TestDisplay d = onlineDisplay();
        d.stopBeating();

        await().atMost(WAIT).until(() -> events(d.uuid(), "recovery_alert") == 1);
        assertThat(liveness(d)).isEqualTo("stale");
        assertThat(eventDetail(d.uuid(), "recovery_alert")).containsEntry("liveness_state", "stale");
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(events(d.uuid(), "recovery_alert")).isEqualTo(1);
            assertThat(d.received()).as("MQTT cannot reach a silent display").isEmpty();
            assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
        });
    }

    // ---- fleet circuit breaker ---------------------------------------------------------------

    @Test
    void manyStaleDisplaysAtOncePauseRecoveryUntilTheyComeBack() {
        List<TestDisplay> fleet = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            fleet.add(onlineDisplay());
        }
        List<TestDisplay> silent = fleet.subList(0, 4);
        TestDisplay crashing = fleet.get(9);

        // a network outage: 4 of 10 (40 % > 30 %) fall silent at the same moment
        silent.forEach(TestDisplay::stopBeating);
        silent.forEach(TestDisplay::heartbeat);
        await().atMost(WAIT).until(() -> Boolean.TRUE.equals(scalar("SELECT recovery_paused FROM fleet_state")));
        assertThat(fleetEvents("recovery_paused")).isEqualTo(1);
        JsonNode recovery = getJson("/api/monitoring/overview").path("recovery");
        assertThat(recovery.path("enabled").asBoolean()).isTrue();
        assertThat(recovery.path("paused").asBoolean()).isTrue();
        assertThat(recovery.path("paused_since").isTextual()).isTrue();
        assertThat(recovery.path("paused_detail").path("stale_clients").asInt()).isEqualTo(4);
        assertThat(recovery.path("paused_detail").path("recent_clients").asInt()).isEqualTo(10);
        JsonNode check = healthCheck("fleet-recovery");
        assertThat(check.path("status").asText()).as("pausing is the intended reaction, not a failure").isEqualTo("UP");
        assertThat(check.path("message").asText()).contains("paused").contains("circuit breaker");

        // a real crash while paused: skipped, once, with the reason
        crashing.health("crashed");
        await().atMost(WAIT).until(() -> skips(crashing, "circuit_breaker") == 1);
        for (TestDisplay s : silent) {
            await().atMost(WAIT).until(() -> skips(s, "circuit_breaker") == 1);
        }
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(4)).untilAsserted(() -> {
            assertThat(skips(crashing, "circuit_breaker")).isEqualTo(1);
            assertThat(scalar("SELECT count(*) FROM client_commands")).as("no recovery command while paused").isEqualTo(0L);
            assertThat(fleetEvents("recovery_paused")).isEqualTo(1);
        });
        assertThat(fleet).allSatisfy(t -> assertThat(t.received()).isEmpty());

        // the network is back: recovery resumes by itself and the crashed display is helped
        silent.forEach(t -> t.keepBeating(BEAT));
        await().atMost(WAIT).until(() -> Boolean.FALSE.equals(scalar("SELECT recovery_paused FROM fleet_state")));
        assertThat(fleetEvents("recovery_resumed")).isEqualTo(1);
        assertThat(getJson("/api/monitoring/overview").path("recovery").path("paused").asBoolean()).isFalse();
        assertThat(healthCheck("fleet-recovery").path("message").asText()).doesNotContain("paused");
        await().atMost(WAIT).until(() -> recoveryCommands(crashing).size() == 1);
        assertThat(recoveryCommands(crashing).get(0)).containsEntry("action", "restart_app");
        await().atMost(WAIT).until(() -> "online".equals(liveness(crashing)));
        assertThat(fleetEvents("recovery_paused")).isEqualTo(1);
    }

    @Test
    void displaysFallingSilentOneAfterAnotherGetNoAlertBeforeTheBreakerPausesAndItResumesOnlyWellUnderTheThreshold() {
        List<TestDisplay> fleet = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            fleet.add(onlineDisplay());
        }
        List<TestDisplay> silent = fleet.subList(0, 4);
        // a network outage spreading: one display after another falls silent, 400 ms apart
        for (TestDisplay t : silent) {
            t.stopBeating();
            t.heartbeat();
            long before = System.nanoTime();
            await().pollDelay(Duration.ofMillis(400)).atMost(Duration.ofSeconds(2)).until(() -> System.nanoTime() - before >= 400_000_000L);
        }
        await().atMost(WAIT).until(() -> Boolean.TRUE.equals(scalar("SELECT recovery_paused FROM fleet_state")));
        for (TestDisplay t : silent) {
            await().atMost(WAIT).until(() -> skips(t, "circuit_breaker") == 1);
        }
        assertThat(silent).as("the first to fall silent settled instead of getting an alert before the breaker saw the outage")
                .allSatisfy(t -> {
                    assertThat(events(t.uuid(), "recovery_alert")).isZero();
                    assertThat(skips(t, "settling")).isLessThanOrEqualTo(1);
                });
        assertThat(scalar("SELECT count(*) FROM client_commands")).isEqualTo(0L);

        // one comes back: 3 of 10 stale is no longer above 30 %, but not yet down to 20 %: still paused
        silent.get(0).keepBeating(BEAT);
        await().atMost(WAIT).until(() -> "online".equals(liveness(silent.get(0))));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(4))
                .untilAsserted(() -> assertThat(scalar("SELECT recovery_paused FROM fleet_state")).isEqualTo(true));
        assertThat(fleetEvents("recovery_resumed")).isZero();
        silent.get(1).keepBeating(BEAT); // 2 of 10: resumes
        await().atMost(WAIT).until(() -> Boolean.FALSE.equals(scalar("SELECT recovery_paused FROM fleet_state")));
        assertThat(fleetEvents("recovery_paused")).isEqualTo(1);
        assertThat(fleetEvents("recovery_resumed")).isEqualTo(1);
    }

    // ---- at most one open recovery command ---------------------------------------------------

    @Test
    void uniqueIndexRefusesASecondOpenRecoveryCommandForOneClient() {
        TestDisplay d = onlineDisplay();
        UUID first = UUID.randomUUID();
        insertRecoveryCommand(first, d.uuid(), "published");
        assertThatThrownBy(() -> insertRecoveryCommand(UUID.randomUUID(), d.uuid(), "queued"))
                .hasMessageContaining("client_commands_one_open_recovery_idx");
        // an operator's command is not limited by it, and a finished recovery command frees the slot
        update("INSERT INTO client_commands (id, client_uuid, action, status, expires_at) VALUES (?, ?, 'restart_app', 'published', now() + interval '1 minute')",
                UUID.randomUUID(), d.uuid());
        update("UPDATE client_commands SET status = 'completed' WHERE id = ?", first);
        insertRecoveryCommand(UUID.randomUUID(), d.uuid(), "executing");
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ? AND origin = 'crash_recovery' "
                + "AND status IN ('queued', 'published', 'accepted', 'executing')", d.uuid())).isEqualTo(1L);
    }

    @Test
    void twoOverlappingRecoveryDecisionsCreateExactlyOneOpenRecoveryCommand() throws Exception {
        TestDisplay d = onlineDisplay().silent(); // the command stays open
        RecoveryPolicy policy = context.getRegistry().lookupByNameAndType("recoveryPolicy", RecoveryPolicy.class);
        Map<String, Object> candidate = new HashMap<>();
        candidate.put("uuid", d.uuid());
        candidate.put("liveness_state", "crashed");
        candidate.put("recovery_state", "idle");
        candidate.put("attempts_in_window", 0L);
        candidate.put("open_commands", 0L);
        candidate.put("has_power_target", false);
        // two sweeps (two instances) took the same decision from the same facts
        Map<String, Object> a = policy.commandParameters(policy.decide(candidate, false));
        Map<String, Object> b = policy.commandParameters(policy.decide(candidate, false));
        assertThat(a.get("id")).isNotEqualTo(b.get("id"));
        ProducerTemplate template = context.createProducerTemplate();
        String create = "sql:classpath:sql/create-command.sql?outputType=SelectOne";

        List<Map<?, ?>> results = new ArrayList<>();
        try (Connection lock = lockConnection()) {
            try (PreparedStatement ps = lock.prepareStatement("SELECT uuid FROM clients WHERE uuid = ? FOR UPDATE")) {
                ps.setObject(1, d.uuid());
                ps.executeQuery().close();
            }
            CompletableFuture<Map<?, ?>> first = CompletableFuture.supplyAsync(() -> template.requestBody(create, a, Map.class), pool);
            CompletableFuture<Map<?, ?>> second = CompletableFuture.supplyAsync(() -> template.requestBody(create, b, Map.class), pool);
            await().atMost(WAIT).until(() -> lockWaiters(lock, "lockout_until") == 2);
            lock.commit();
            results.add(first.get(10, TimeUnit.SECONDS));
            results.add(second.get(10, TimeUnit.SECONDS));
        }
        assertThat(results).filteredOn(r -> r.get("command_id") != null).as("one of the two is created").hasSize(1);
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ? AND origin = 'crash_recovery' "
                + "AND status IN ('queued', 'published', 'accepted', 'executing')", d.uuid())).isEqualTo(1L);
        assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type = 'command_queued'", d.uuid()))
                .isEqualTo(1L);
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** A registered display that beats every 500 ms, answers commands fully and is online. */
    private TestDisplay onlineDisplay() {
        TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID());
        displays.add(d);
        d.health("running");
        d.keepBeating(BEAT);
        await().atMost(WAIT).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
        return d;
    }

    /** Three finished recovery commands a minute ago, as an earlier outage in the budget window left them. */
    private void spentBudget(TestDisplay d) {
        for (int i = 0; i < 3; i++) {
            update("""
                    INSERT INTO client_commands (id, client_uuid, action, status, origin, requested_by, created_at, expires_at, finished_at)
                    VALUES (?, ?, 'restart_app', 'completed', 'crash_recovery', 'crash-recovery',
                            now() - interval '60 seconds', now() + interval '1 minute', now() - interval '59 seconds')""",
                    UUID.randomUUID(), d.uuid());
        }
    }

    private void insertRecoveryCommand(UUID id, UUID client, String status) {
        update("""
                INSERT INTO client_commands (id, client_uuid, action, status, origin, requested_by, expires_at)
                VALUES (?, ?, 'restart_app', ?, 'crash_recovery', 'crash-recovery', now() + interval '1 minute')""", id, client, status);
    }

    private String liveness(TestDisplay d) {
        return (String) scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid());
    }

    private String recoveryState(TestDisplay d) {
        return (String) scalar("SELECT recovery_state FROM clients WHERE uuid = ?", d.uuid());
    }

    private List<Map<String, Object>> recoveryCommands(TestDisplay d) {
        return query("SELECT * FROM client_commands WHERE client_uuid = ? AND origin = 'crash_recovery' ORDER BY created_at", d.uuid());
    }

    /** @return recovery_skipped events with this detail.reason */
    private long skips(TestDisplay d, String reason) {
        return ((Number) scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type = 'recovery_skipped' AND detail->>'reason' = ?",
                d.uuid(), reason)).longValue();
    }

    /** @return recovery_skipped events with this reason between the first and the second recovery_attempt */
    private long skipsBetweenAttempts(TestDisplay d, String reason) {
        return ((Number) scalar("""
                WITH a AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM client_events
                           WHERE client_uuid = ? AND type = 'recovery_attempt')
                SELECT count(*) FROM client_events e
                WHERE e.client_uuid = ? AND e.type = 'recovery_skipped' AND e.detail->>'reason' = ?
                  AND e.id > (SELECT id FROM a WHERE n = 1) AND e.id < (SELECT id FROM a WHERE n = 2)""",
                d.uuid(), d.uuid(), reason)).longValue();
    }

    /** @return seconds from the n-th event of one type to the m-th event of another (1-based, by id) */
    private double secondsBetweenEvents(TestDisplay d, String fromType, int n, String toType, int m) {
        return ((Number) scalar("""
                WITH e AS (SELECT type, occurred_at, row_number() OVER (PARTITION BY type ORDER BY id) AS k
                           FROM client_events WHERE client_uuid = ?)
                SELECT EXTRACT(EPOCH FROM ((SELECT occurred_at FROM e WHERE type = ? AND k = ?)
                                         - (SELECT occurred_at FROM e WHERE type = ? AND k = ?)))""",
                d.uuid(), toType, m, fromType, n)).doubleValue();
    }

    private Map<String, Object> lastSkip(TestDisplay d) {
        return eventDetail(d.uuid(), "recovery_skipped");
    }

    private long fleetEvents(String type) {
        return ((Number) scalar("SELECT count(*) FROM fleet_events WHERE type = ?", type)).longValue();
    }

    /** @return the detail of the newest event of a type for a client, values as text */
    private Map<String, Object> eventDetail(UUID uuid, String type) {
        Map<String, Object> out = new HashMap<>();
        query("""
                SELECT d.key, d.value FROM (SELECT detail FROM client_events WHERE client_uuid = ? AND type = ?
                                            ORDER BY id DESC LIMIT 1) e, jsonb_each_text(e.detail) d""", uuid, type)
                .forEach(r -> out.put((String) r.get("key"), r.get("value")));
        return out;
    }

    private static JsonNode findClient(JsonNode list, UUID uuid) {
        for (JsonNode c : list.path("clients")) {
            if (uuid.toString().equals(c.path("uuid").asText())) {
                return c;
            }
        }
        throw new AssertionError("client " + uuid + " not listed");
    }

}
