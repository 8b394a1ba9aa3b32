package org.infoscreen.fleet.recovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RecoveryPolicy#decide} without Camel or a database: every branch of the ladder and of
 * the guards in front of it (circuit breaker, exhausted, command in flight, budget, lockout,
 * backoff). Budget 3 attempts, backoff 60 s doubling, command TTL 300 s, lockout 900 s.
 */
class RecoveryPolicyTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final RecoveryPolicy policy = new RecoveryPolicy(JSON, 3, 60, 300, 900, 0);
    private final UUID uuid = UUID.randomUUID();

    // ---- guards, in their order ------------------------------------------------------------

    @Test
    void circuitBreakerPausedSkipsEvenAClientThatWouldGetACommand() {
        Map<String, Object> d = policy.decide(crashed(), true);
        assertSkip(d, "circuit_breaker");
    }

    @Test
    void circuitBreakerWinsOverEveryOtherReason() {
        Map<String, Object> c = crashed();
        c.put("recovery_state", "exhausted");
        c.put("open_commands", 1L);
        c.put("lockout_remaining_s", 100L);
        assertSkip(policy.decide(c, true), "circuit_breaker");
    }

    @Test
    void exhaustedClientIsSkippedAndGetsNoCommand() {
        Map<String, Object> c = crashed();
        c.put("recovery_state", "exhausted");
        c.put("attempts_in_window", 3L);
        assertSkip(policy.decide(c, false), "exhausted");
    }

    @Test
    void commandInFlightIsSkipped() {
        Map<String, Object> c = crashed();
        c.put("open_commands", 1L);
        assertSkip(policy.decide(c, false), "command_in_flight");
    }

    @Test
    void commandInFlightIsCheckedBeforeTheBudget() {
        Map<String, Object> c = crashed();
        c.put("open_commands", 1L);
        c.put("attempts_in_window", 3L);
        assertSkip(policy.decide(c, false), "command_in_flight");
    }

    @Test
    void budgetSpentMarksTheClientExhaustedWithOneDecisionKey() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 3L);
        c.put("last_attempt_age_s", 10_000L);
        c.put("episode_last_action", "restart_app");
        Map<String, Object> d = policy.decide(c, false);
        assertThat(d).containsEntry("kind", "exhausted")
                .containsEntry("event_type", "recovery_exhausted")
                .containsEntry("decision", "exhausted")
                .containsEntry("uuid", uuid);
        assertThat(d.get("action")).isNull();
        assertThat(d.get("command_id")).isNull();
        JsonNode detail = detail(d);
        assertThat(detail.path("attempts").asLong()).isEqualTo(3);
        assertThat(detail.path("reason").asText()).contains("budget");
    }

    @Test
    void budgetIsCheckedBeforeTheLockout() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 4L);
        c.put("lockout_remaining_s", 100L);
        assertThat(policy.decide(c, false)).containsEntry("kind", "exhausted");
    }

    @Test
    void lockoutSkipsWithTheSecondsLeft() {
        Map<String, Object> c = crashed();
        c.put("lockout_remaining_s", 42L);
        Map<String, Object> d = assertSkip(policy.decide(c, false), "lockout");
        assertThat(detail(d).path("retry_after_s").asLong()).isEqualTo(42);
    }

    @Test
    void lockoutIsCheckedBeforeTheBackoff() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 1L);
        c.put("last_attempt_age_s", 5L);
        c.put("lockout_remaining_s", 10L);
        assertSkip(policy.decide(c, false), "lockout");
    }

    @ParameterizedTest(name = "{0} attempt(s): wait {1} s")
    @CsvSource({"1, 60", "2, 120"})
    void backoffDoublesWithEachAttempt(long attempts, long backoffS) {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", attempts);
        c.put("episode_last_action", "restart_app");

        c.put("last_attempt_age_s", backoffS - 1);
        Map<String, Object> waiting = assertSkip(policy.decide(c, false), "backoff");
        assertThat(detail(waiting).path("backoff_s").asLong()).isEqualTo(backoffS);

        c.put("last_attempt_age_s", backoffS);
        assertThat(policy.decide(c, false)).as("backoff over after exactly %s s", backoffS).containsEntry("kind", "issue");
    }

    @Test
    void backoffKeepsDoublingBeyondTheDefaultBudget() {
        RecoveryPolicy generous = new RecoveryPolicy(JSON, 10, 60, 300, 900, 0);
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 4L);
        c.put("episode_last_action", "restart_app");
        c.put("last_attempt_age_s", 479L);
        assertThat(detail(assertSkip(generous.decide(c, false), "backoff")).path("backoff_s").asLong()).isEqualTo(480);
    }

    @Test
    void noBackoffWithoutAPreviousAttempt() {
        Map<String, Object> c = crashed();
        c.put("last_attempt_age_s", 0L);
        assertThat(policy.decide(c, false)).containsEntry("kind", "issue").containsEntry("action", "restart_app");
    }

    // ---- the ladder --------------------------------------------------------------------------

    @Test
    void crashedAppFirstGetsRestartApp() {
        Map<String, Object> d = policy.decide(crashed(), false);
        assertIssue(d, "restart_app", 1);
        assertThat(d.get("reason").toString()).contains("restart_app").contains("1/3");
    }

    @Test
    void afterRestartAppComesRebootHost() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 1L);
        c.put("last_attempt_age_s", 600L);
        c.put("episode_last_action", "restart_app");
        assertIssue(policy.decide(c, false), "reboot_host", 2);
    }

    @Test
    void afterRebootHostWithoutPowerTargetTheLadderEndsInAnAlert() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 2L);
        c.put("last_attempt_age_s", 600L);
        c.put("episode_last_action", "reboot_host");
        Map<String, Object> d = policy.decide(c, false);
        assertThat(d).containsEntry("kind", "alert")
                .containsEntry("event_type", "recovery_alert")
                .containsEntry("decision", "alert:crashed");
        assertThat(d.get("action")).isNull();
        assertThat(d.get("command_id")).as("an alert issues no command").isNull();
        assertThat(detail(d).path("liveness_state").asText()).isEqualTo("crashed");
    }

    @Test
    void afterRebootHostWithPowerTargetComesPowerCycle() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 2L);
        c.put("last_attempt_age_s", 600L);
        c.put("episode_last_action", "reboot_host");
        c.put("has_power_target", true);
        assertIssue(policy.decide(c, false), "power_cycle", 3);
    }

    @Test
    void powerCycleIsTheTopStepAndRepeatsUntilTheBudgetIsSpent() {
        Map<String, Object> c = crashed();
        c.put("attempts_in_window", 2L);
        c.put("last_attempt_age_s", 600L);
        c.put("episode_last_action", "power_cycle");
        c.put("has_power_target", true);
        assertIssue(policy.decide(c, false), "power_cycle", 3);
        c.put("attempts_in_window", 3L);
        assertThat(policy.decide(c, false)).containsEntry("kind", "exhausted");
    }

    @Test
    void staleDeviceWithoutPowerTargetGetsAnAlertAndNoMqttCommand() {
        Map<String, Object> d = policy.decide(stale(), false);
        assertThat(d).containsEntry("kind", "alert")
                .containsEntry("event_type", "recovery_alert")
                .containsEntry("decision", "alert:stale");
        assertThat(d.get("action")).isNull();
        assertThat(d.get("command_id")).isNull();
        assertThat(detail(d).path("reason").asText()).contains("silent");
    }

    @Test
    void staleDeviceWithPowerTargetGetsPowerCycleNeverAnMqttCommand() {
        Map<String, Object> c = stale();
        c.put("has_power_target", true);
        assertIssue(policy.decide(c, false), "power_cycle", 1);
        c.put("episode_last_action", "restart_app");
        assertThat(policy.decide(c, false)).containsEntry("action", "power_cycle");
    }

    // ---- settling: a stale device is acted on only after a minimum stale age -----------------

    @Test
    void freshlyStaleDeviceIsLeftToSettleSoTheCircuitBreakerCanSeeAFleetWideOutageFirst() {
        RecoveryPolicy settling = new RecoveryPolicy(JSON, 3, 60, 300, 900, 120);
        Map<String, Object> c = stale();
        c.put("has_power_target", true);
        c.put("down_for_s", 119L);
        Map<String, Object> d = assertSkip(settling.decide(c, false), "settling");
        assertThat(detail(d).path("stale_min_age_s").asLong()).isEqualTo(120);
        c.put("has_power_target", false);
        assertSkip(settling.decide(c, false), "settling");

        c.put("down_for_s", 120L);
        assertThat(settling.decide(c, false)).containsEntry("kind", "alert");
        c.put("has_power_target", true);
        assertIssue(settling.decide(c, false), "power_cycle", 1);
    }

    @Test
    void settlingAppliesOnlyToStaleDevicesNotToCrashedOnes() {
        RecoveryPolicy settling = new RecoveryPolicy(JSON, 3, 60, 300, 900, 120);
        Map<String, Object> c = crashed();
        c.put("down_for_s", 1L);
        assertIssue(settling.decide(c, false), "restart_app", 1);
    }

    @Test
    void circuitBreakerIsReportedBeforeSettling() {
        RecoveryPolicy settling = new RecoveryPolicy(JSON, 3, 60, 300, 900, 120);
        Map<String, Object> c = stale();
        c.put("down_for_s", 1L);
        assertSkip(settling.decide(c, true), "circuit_breaker");
    }

    @Test
    void aProtectedPowerTargetEndsTheLadderInAnAlertThatSaysSo() {
        Map<String, Object> c = stale();
        c.put("has_power_target", false);
        c.put("has_any_power_target", true);
        Map<String, Object> d = policy.decide(c, false);
        assertThat(d).containsEntry("kind", "alert");
        assertThat(detail(d).path("reason").asText()).contains("protected");
    }

    // ---- shapes --------------------------------------------------------------------------------

    @Test
    void repeatedDecisionsHaveTheSameKeyButEveryIssueANewCommandId() {
        Map<String, Object> a = policy.decide(crashed(), false);
        Map<String, Object> b = policy.decide(crashed(), false);
        assertThat(a.get("decision")).isEqualTo(b.get("decision"));
        assertThat(a.get("command_id")).isNotNull().isNotEqualTo(b.get("command_id"));

        Map<String, Object> locked = crashed();
        locked.put("lockout_remaining_s", 30L);
        Map<String, Object> later = crashed();
        later.put("lockout_remaining_s", 29L);
        assertThat(policy.decide(locked, false).get("decision")).as("the seconds left do not make a new decision")
                .isEqualTo(policy.decide(later, false).get("decision"));
    }

    @Test
    void decideListGivesOneDecisionPerCandidateInOrder() {
        Map<String, Object> other = stale();
        List<Map<String, Object>> out = policy.decide(List.of(crashed(), other), false);
        assertThat(out).hasSize(2);
        assertThat(out.get(0)).containsEntry("kind", "issue");
        assertThat(out.get(1)).containsEntry("kind", "alert");
        assertThat(policy.decide(List.of(), true)).isEmpty();
    }

    @Test
    void commandParametersAreNeverForcedAndCarryTheRecoveryOrigin() {
        Map<String, Object> d = policy.decide(crashed(), false);
        Map<String, Object> p = policy.commandParameters(d);
        assertThat(p).containsEntry("id", d.get("command_id"))
                .containsEntry("clientUuid", uuid)
                .containsEntry("action", "restart_app")
                .containsEntry("origin", "crash_recovery")
                .containsEntry("requested_by", "crash-recovery")
                .containsEntry("force", false)
                .containsEntry("ttl_s", 300)
                .containsEntry("lockout_s", 900)
                .containsEntry("reason", d.get("reason"));
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** A crashed client, nothing tried yet: the facts recovery-candidates.sql returns. */
    private Map<String, Object> crashed() {
        Map<String, Object> c = new HashMap<>();
        c.put("uuid", uuid);
        c.put("liveness_state", "crashed");
        c.put("recovery_state", "idle");
        c.put("recovery_last_decision", null);
        c.put("down_for_s", 30L);
        c.put("attempts_in_window", 0L);
        c.put("last_attempt_age_s", null);
        c.put("episode_last_action", null);
        c.put("open_commands", 0L);
        c.put("lockout_remaining_s", null);
        c.put("has_power_target", false);
        return c;
    }

    private Map<String, Object> stale() {
        Map<String, Object> c = crashed();
        c.put("liveness_state", "stale");
        return c;
    }

    private Map<String, Object> assertSkip(Map<String, Object> d, String reason) {
        assertThat(d).containsEntry("kind", "skip")
                .containsEntry("event_type", "recovery_skipped")
                .containsEntry("decision", "skip:" + reason)
                .containsEntry("uuid", uuid);
        assertThat(d.get("action")).isNull();
        assertThat(d.get("command_id")).isNull();
        assertThat(detail(d).path("reason").asText()).isEqualTo(reason);
        assertThat(detail(d).path("message").asText()).isNotBlank();
        return d;
    }

    private void assertIssue(Map<String, Object> d, String action, int attempt) {
        assertThat(d).containsEntry("kind", "issue")
                .containsEntry("action", action)
                .containsEntry("event_type", "recovery_attempt")
                .containsEntry("decision", "issue:" + action + ":" + attempt)
                .containsEntry("uuid", uuid);
        assertThat(d.get("command_id")).isInstanceOf(UUID.class);
        JsonNode detail = detail(d);
        assertThat(detail.path("action").asText()).isEqualTo(action);
        assertThat(detail.path("attempt").asInt()).isEqualTo(attempt);
        assertThat(detail.path("budget").asInt()).isEqualTo(3);
    }

    private static JsonNode detail(Map<String, Object> d) {
        try {
            return JSON.readTree((String) d.get("detail"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
