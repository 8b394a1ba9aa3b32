package org.infoscreen.fleet.recovery;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The crash auto-recovery ladder (DESIGN.md §5), as a pure function of the facts the recovery
 * sweep loads per client. No Camel, no database: unit-tested on its own.
 *
 * <p>Ladder: an app that crashed while the device still talks MQTT gets {@code restart_app},
 * then {@code reboot_host}, then {@code power_cycle} where a power target exists; a silent
 * (stale) device skips the MQTT steps. Without a power target the ladder ends at an alert.
 * Every step respects, in this order: the fleet circuit breaker, an exhausted budget, the settling
 * time of a stale device (it must have been stale for a minimum age, so that a fleet-wide outage
 * trips the circuit breaker before the first displays to fall silent are acted on), a command
 * already in flight, the lockout, the budget (attempts per window) and the backoff between
 * attempts (base × 2^(attempts−1) seconds).
 */
public class RecoveryPolicy {

    private final ObjectMapper mapper;
    private final int budgetAttempts;
    private final long backoffBaseS;
    private final int commandTtlS;
    private final int lockoutS;
    private final long staleMinAgeS;

    /**
     * @param mapper         Jackson mapper for the event details
     * @param budgetAttempts recovery commands allowed per client in the budget window
     * @param backoffBaseS   seconds to wait after the first attempt; doubles with each further attempt
     * @param commandTtlS    time to live of a recovery command, seconds
     * @param lockoutS       lockout window after a destructive command, seconds
     * @param staleMinAgeS   seconds a device must have been stale before recovery acts on it
     */
    public RecoveryPolicy(ObjectMapper mapper, int budgetAttempts, long backoffBaseS, int commandTtlS, int lockoutS,
                          long staleMinAgeS) {
        this.mapper = mapper;
        this.staleMinAgeS = staleMinAgeS;
        this.budgetAttempts = budgetAttempts;
        this.backoffBaseS = backoffBaseS;
        this.commandTtlS = commandTtlS;
        this.lockoutS = lockoutS;
    }

    /**
     * @param decision an {@code issue} decision of {@link #decide(Map, boolean)}
     * @return the named parameters of {@code create-command.sql} for it: never forced, so the
     *         lockout applies; origin {@code crash_recovery}
     */
    public Map<String, Object> commandParameters(Map<String, Object> decision) {
        Map<String, Object> p = new HashMap<>(decision);
        p.put("id", decision.get("command_id"));
        p.put("clientUuid", decision.get("uuid"));
        p.put("origin", "crash_recovery");
        p.put("requested_by", "crash-recovery");
        p.put("force", false);
        p.put("ttl_s", commandTtlS);
        p.put("lockout_s", lockoutS);
        return p;
    }

    /**
     * Decides for every candidate.
     *
     * @param candidates rows of {@code recovery-candidates.sql}
     * @param paused     whether the fleet circuit breaker has paused recovery
     * @return one decision per candidate: {@code uuid}, {@code kind} ({@code issue}, {@code skip},
     *         {@code exhausted}, {@code alert}), {@code action} (for {@code issue}), {@code decision}
     *         (a stable key; the same key is written as an event only once), {@code event_type},
     *         {@code detail} (JSON), {@code command_id} (new id for {@code issue}, else null)
     */
    public List<Map<String, Object>> decide(List<Map<String, Object>> candidates, boolean paused) {
        List<Map<String, Object>> out = new ArrayList<>(candidates.size());
        for (Map<String, Object> c : candidates) {
            out.add(decide(c, paused));
        }
        return out;
    }

    /**
     * @param c      one row of {@code recovery-candidates.sql}
     * @param paused whether the fleet circuit breaker has paused recovery
     * @return the decision, see {@link #decide(List, boolean)}
     */
    public Map<String, Object> decide(Map<String, Object> c, boolean paused) {
        Object uuid = c.get("uuid");
        String state = String.valueOf(c.get("liveness_state"));
        long attempts = number(c.get("attempts_in_window"));
        if (paused) {
            return skip(uuid, "circuit_breaker", "paused: circuit breaker (many clients stale at once)", Map.of());
        }
        if ("exhausted".equals(c.get("recovery_state"))) {
            return skip(uuid, "exhausted", "recovery exhausted; left to people until stable or cleared", Map.of());
        }
        long downFor = number(c.get("down_for_s"));
        if ("stale".equals(state) && downFor < staleMinAgeS) {
            return skip(uuid, "settling", "stale for " + downFor + " s; recovery waits until " + staleMinAgeS
                    + " s so that a fleet-wide outage pauses it first", Map.of("stale_min_age_s", staleMinAgeS));
        }
        if (number(c.get("open_commands")) > 0) {
            return skip(uuid, "command_in_flight", "a command for this client is still in flight", Map.of());
        }
        if (attempts >= budgetAttempts) {
            return decision(uuid, "exhausted", null, "exhausted", "recovery_exhausted",
                    Map.of("reason", "budget spent: " + attempts + " attempts in the budget window", "attempts", attempts));
        }
        long lockout = number(c.get("lockout_remaining_s"));
        if (lockout > 0) {
            return skip(uuid, "lockout", "lockout holds for " + lockout + " s more", Map.of("retry_after_s", lockout));
        }
        Object lastAge = c.get("last_attempt_age_s");
        if (attempts > 0 && lastAge != null) {
            long wait = backoffBaseS << Math.min(attempts - 1, 20);
            if (number(lastAge) < wait) {
                return skip(uuid, "backoff", "backoff: next attempt " + wait + " s after the previous one",
                        Map.of("backoff_s", wait));
            }
        }
        String next = nextStep(state, (String) c.get("episode_last_action"), Boolean.TRUE.equals(c.get("has_power_target")));
        if (next == null) {
            String power = Boolean.TRUE.equals(c.get("has_any_power_target"))
                    ? "its power target's outlet is protected" : "no power target exists";
            String why = "stale".equals(state)
                    ? "device is silent and " + power + ": MQTT commands cannot reach it"
                    : "restart_app and reboot_host were tried and " + power;
            return decision(uuid, "alert", null, "alert:" + state, "recovery_alert",
                    Map.of("reason", why, "liveness_state", state, "needs", "power_cycle or a person on site"));
        }
        Map<String, Object> detail = new LinkedHashMap<>();
        detail.put("action", next);
        detail.put("attempt", attempts + 1);
        detail.put("budget", budgetAttempts);
        detail.put("liveness_state", state);
        Map<String, Object> d = decision(uuid, "issue", next, "issue:" + next + ":" + (attempts + 1), "recovery_attempt", detail);
        d.put("command_id", UUID.randomUUID());
        d.put("reason", "crash recovery step " + (attempts + 1) + "/" + budgetAttempts + ": " + next + " (" + state + ")");
        return d;
    }

    /**
     * @param livenessState     {@code crashed} or {@code stale}
     * @param lastEpisodeAction the last recovery action in this outage, or {@code null}
     * @param hasPowerTarget    whether a power target is configured
     * @return the next action, or {@code null} when the ladder ends at an alert
     */
    static String nextStep(String livenessState, String lastEpisodeAction, boolean hasPowerTarget) {
        if ("stale".equals(livenessState)) {
            return hasPowerTarget ? "power_cycle" : null;
        }
        if (lastEpisodeAction == null) {
            return "restart_app";
        }
        return switch (lastEpisodeAction) {
            case "restart_app" -> "reboot_host";
            default -> hasPowerTarget ? "power_cycle" : null;
        };
    }

    private Map<String, Object> skip(Object uuid, String why, String text, Map<String, Object> extra) {
        Map<String, Object> detail = new LinkedHashMap<>(extra);
        detail.put("reason", why);
        detail.put("message", text);
        return decision(uuid, "skip", null, "skip:" + why, "recovery_skipped", detail);
    }

    private Map<String, Object> decision(Object uuid, String kind, String action, String key, String eventType,
                                         Map<String, Object> detail) {
        Map<String, Object> d = new HashMap<>();
        d.put("uuid", uuid);
        d.put("kind", kind);
        d.put("action", action);
        d.put("decision", key);
        d.put("event_type", eventType);
        d.put("command_id", null);
        try {
            d.put("detail", mapper.writeValueAsString(detail));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return d;
    }

    private static long number(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }
}
