package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.power.FakeDevice;
import org.infoscreen.fleet.power.ShellyGen2Fake;
import org.junit.jupiter.api.AfterEach;
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
 * Power cycles by {@code POST /api/clients/{uuid}/power_cycle} through the shared power route,
 * against fake devices over real HTTP: the command's lifecycle (executing, completed by the new
 * boot_id), the power_* events, errors, the protected outlet. Recovery off; stale after 2 s;
 * off 1 s; retries 2 × 100 ms; verification 3 × 200 ms.
 */
class PowerCycleTest extends FleetTestSupport {

    static final String PLUG_PASSWORD = "Pl4g-S3cret!&x";
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration BEAT = Duration.ofMillis(500);

    private final List<TestDisplay> displays = new ArrayList<>();
    private final List<FakeDevice> devices = new ArrayList<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.commands.boot-timeout-s", "20");
        p.setProperty("fleet.liveness.stale-after-s", "2");
        p.setProperty("fleet.liveness.offline-grace-s", "1");
        p.setProperty("fleet.power.off-s", "1");
        p.setProperty("fleet.power.retry-attempts", "2");
        p.setProperty("fleet.power.retry-delay-ms", "100");
        p.setProperty("fleet.power.verify-attempts", "3");
        p.setProperty("fleet.power.verify-interval-ms", "200");
        p.setProperty("fleet.power.http-timeout-ms", "3000");
        p.setProperty("fleet.power.lock-poll-ms", "100");
        return p;
    }

    @Override
    protected Map<String, String> extraEnvironment() {
        return Map.of("POWER_TEST_PLUG", PLUG_PASSWORD);
    }

    @AfterEach
    void closeAll() {
        displays.forEach(TestDisplay::close);
        displays.clear();
        devices.forEach(FakeDevice::close);
        devices.clear();
    }

    @Test
    void shellyGen2PowerCycleIsOneNativeToggleAndTheNewBootIdCompletesIt() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(PLUG_PASSWORD).staleNonceOnce());
        TestDisplay d = silentDisplay();
        plug.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"},\"secret_ref\":\"POWER_TEST_PLUG\"}");
        String firstBoot = d.bootId();

        HttpResponse<String> r = httpPost("/api/clients/" + d.uuid() + "/power_cycle", "{\"reason\":\"screen frozen\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode cmd = json(r.body());
        assertThat(cmd.path("action").asText()).isEqualTo("power_cycle");
        assertThat(cmd.path("reason").asText()).isEqualTo("screen frozen");
        String id = cmd.path("id").asText();

        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(plug.offs()).as("exactly one switch-off").isEqualTo(1);
        assertThat(plug.switches()).extracting(FakeDevice.Switch::how)
                .containsExactly("Switch.Set toggle_after=1.0", "toggle_after timer");
        assertThat(plug.staleAnswers()).as("the stale nonce was answered with the new one").isEqualTo(1);
        assertThat(d.bootId()).isNotEqualTo(firstBoot);
        assertThat(commandEventTypes(id)).containsSubsequence("command_queued", "command_executing", "power_intent",
                "power_cycle", "power_switched", "command_completed");
        assertThat((String) commandRow(id).get("detail")).contains("confirmed by new boot_id");
        assertThat(d.received()).as("a power cycle never goes over MQTT").isEmpty();
    }

    // ---- helpers -------------------------------------------------------------------------------

    private <T extends FakeDevice> T device(T device) {
        devices.add(device);
        return device;
    }

    /** A display that was online and fell silent: stale now. */
    private TestDisplay silentDisplay() {
        TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID());
        displays.add(d);
        d.health("running");
        await().atMost(WAIT).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        await().atMost(WAIT).until(() -> "stale".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid())));
        return d;
    }

    private void putTarget(TestDisplay d, String body) {
        HttpResponse<String> r = httpPut("/api/clients/" + d.uuid() + "/power_target", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
}
