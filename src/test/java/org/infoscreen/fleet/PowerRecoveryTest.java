package org.infoscreen.fleet;

import org.infoscreen.fleet.power.FakeDevice;
import org.infoscreen.fleet.power.ShellyGen2Fake;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The crash auto-recovery ladder's last step is a power cycle through the same path as
 * {@code POST /power_cycle}: a display whose heartbeats stop, with a Shelly Gen2 fake (HTTP Digest,
 * stale nonce) as its power target, is power-cycled once with the native {@code toggle_after},
 * and its resumed heartbeat with a new boot_id completes the command. Recovery on; sweeps 300 ms;
 * stale after 2 s; settling 1 s; lockout 2 s; power off 1 s.
 */
class PowerRecoveryTest extends FleetTestSupport {

    private static final String PASSWORD = "Recov3ry-Plug#1";
    private static final Duration WAIT = Duration.ofSeconds(25);
    private static final Duration BEAT = Duration.ofMillis(500);
    private final List<TestDisplay> displays = new ArrayList<>();
    private final List<FakeDevice> devices = new ArrayList<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.recovery.enabled", "true");
        p.setProperty("fleet.recovery.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.lockout-s", "2");
        p.setProperty("fleet.commands.boot-timeout-s", "20");
        p.setProperty("fleet.recovery.backoff-s", "1");
        p.setProperty("fleet.recovery.budget-attempts", "3");
        p.setProperty("fleet.recovery.stale-min-age-s", "1");
        p.setProperty("fleet.recovery.breaker-min-clients", "50");
        p.setProperty("fleet.liveness.stale-after-s", "2");
        p.setProperty("fleet.liveness.offline-grace-s", "1");
        p.setProperty("fleet.power.off-s", "1");
        p.setProperty("fleet.power.http-timeout-ms", "3000");
        return p;
    }

    @Override
    protected Map<String, String> extraEnvironment() {
        return Map.of("POWER_RECOVERY_PLUG", PASSWORD);
    }

    @BeforeEach
    void emptyFleet() {
        update("DELETE FROM clients");
    }

    @AfterEach
    void closeAll() {
        displays.forEach(TestDisplay::close);
        displays.clear();
        devices.forEach(FakeDevice::close);
        devices.clear();
    }

    @Test
    void silentDisplayIsPowerCycledOnceByTheLadderAndTheNewBootIdCompletesIt() {
        ShellyGen2Fake plug = new ShellyGen2Fake(PASSWORD).staleNonceOnce();
        devices.add(plug);
        TestDisplay d = onlineDisplay();
        plug.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        put(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"},\"secret_ref\":\"POWER_RECOVERY_PLUG\"}");
        String firstBoot = d.bootId();

        d.stopBeating(); // the OS hangs: nothing reaches MQTT any more
        await().atMost(WAIT).until(() -> recoveryCommands(d).size() == 1
                && "completed".equals(recoveryCommands(d).get(0).get("status")));
        Map<String, Object> cmd = recoveryCommands(d).get(0);
        assertThat(cmd).containsEntry("action", "power_cycle").containsEntry("origin", "crash_recovery")
                .containsEntry("requested_by", "crash-recovery").containsEntry("forced", false);
        assertThat((String) cmd.get("detail")).contains("confirmed by new boot_id");
        assertThat(plug.offs()).as("exactly one switch-off").isEqualTo(1);
        assertThat(plug.switches()).extracting(FakeDevice.Switch::how).containsExactly("Switch.Set toggle_after=1.0", "toggle_after timer");
        assertThat(plug.staleAnswers()).isEqualTo(1);
        assertThat(d.bootId()).isNotEqualTo(firstBoot);
        String id = cmd.get("id").toString();
        assertThat(commandEventTypes(id)).containsSubsequence("command_queued", "recovery_attempt", "command_executing",
                "power_intent", "power_cycle", "power_switched");
        assertThat(commandEventTypes(id)).contains("command_completed");
        await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
        assertThat(events(d.uuid(), "recovered")).isEqualTo(1);
        assertThat(d.received()).as("MQTT could not have reached it").isEmpty();
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(6)).untilAsserted(() -> {
            assertThat(recoveryCommands(d)).hasSize(1);
            assertThat(plug.offs()).isEqualTo(1);
        });
    }

    @Test
    void displayThatKeepsCrashingGetsRestartAppRebootHostThenAPowerCycle() {
        ShellyGen2Fake plug = new ShellyGen2Fake(null);
        devices.add(plug);
        TestDisplay d = onlineDisplay().afterRestartReports("crashed");
        plug.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        put(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"}}");
        d.health("crashed");

        await().atMost(WAIT).until(() -> recoveryCommands(d).size() == 3
                && "completed".equals(recoveryCommands(d).get(2).get("status")));
        assertThat(recoveryCommands(d)).extracting(c -> c.get("action")).containsExactly("restart_app", "reboot_host", "power_cycle");
        assertThat(d.received()).extracting(TestDisplay.Received::action).containsExactly("restart_app", "reboot_host");
        assertThat(plug.offs()).isEqualTo(1);
        await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
    }

    @Test
    void aProtectedOutletEndsTheLadderInAnAlertThatSaysSoAndIsNeverSwitched() {
        ShellyGen2Fake plug = new ShellyGen2Fake(null);
        devices.add(plug);
        TestDisplay d = onlineDisplay();
        put(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"},\"protected\":true}");
        d.stopBeating();
        await().atMost(WAIT).until(() -> events(d.uuid(), "recovery_alert") == 1);
        assertThat((String) scalar("SELECT detail->>'reason' FROM client_events WHERE client_uuid = ? AND type = 'recovery_alert'", d.uuid()))
                .contains("protected");
        assertThat(recoveryCommands(d)).isEmpty();
        assertThat(plug.server().getAllServeEvents()).isEmpty();
    }

    private TestDisplay onlineDisplay() {
        TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID());
        displays.add(d);
        d.health("running");
        d.keepBeating(BEAT);
        await().atMost(WAIT).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        await().atMost(WAIT).until(() -> "online".equals(liveness(d)));
        return d;
    }

    private void put(TestDisplay d, String body) {
        HttpResponse<String> r = httpPut("/api/clients/" + d.uuid() + "/power_target", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private String liveness(TestDisplay d) {
        return (String) scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid());
    }

    private List<Map<String, Object>> recoveryCommands(TestDisplay d) {
        return query("SELECT * FROM client_commands WHERE client_uuid = ? AND origin = 'crash_recovery' ORDER BY created_at", d.uuid());
    }
}
