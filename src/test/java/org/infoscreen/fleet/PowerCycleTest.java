package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.power.FakeDevice;
import org.infoscreen.fleet.power.RaritanFake;
import org.infoscreen.fleet.power.RedfishFake;
import org.infoscreen.fleet.power.ShellyGen1Fake;
import org.infoscreen.fleet.power.ShellyGen2Fake;
import org.infoscreen.fleet.power.TasmotaFake;
import org.infoscreen.fleet.power.WebhookFake;
import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
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
    static final String WEBHOOK_TOKEN = "tok-7f3a9c1e5b";
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
        return Map.of("POWER_TEST_PLUG", PLUG_PASSWORD, "POWER_TEST_TOKEN", WEBHOOK_TOKEN, "POWER_WRONG", "not-the-password");
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

    @Test
    void shellyGen1PowerCycleIsTurnOffWithATimerBehindHttpBasic() {
        ShellyGen1Fake relay = device(new ShellyGen1Fake("admin", PLUG_PASSWORD));
        TestDisplay d = silentDisplay();
        relay.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, "{\"driver\":\"shelly-gen1\",\"params\":{\"host\":\"" + relay.host() + "\"},\"secret_ref\":\"POWER_TEST_PLUG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(relay.switches()).extracting(FakeDevice.Switch::how).containsExactly("turn=off&timer=1", "timer");
        assertThat(eventDetail(id, "power_cycle")).containsEntry("state", "off");
    }

    @Test
    void tasmotaPowerCycleIsOneBacklogWithDelayAndCredentialsInTheQuery() {
        TasmotaFake plug = device(new TasmotaFake(PLUG_PASSWORD));
        TestDisplay d = silentDisplay();
        plug.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, "{\"driver\":\"tasmota\",\"params\":{\"host\":\"" + plug.host() + "\"},\"secret_ref\":\"POWER_TEST_PLUG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(plug.switches()).extracting(FakeDevice.Switch::how)
                .containsExactly("Backlog Power1 Off", "Backlog Power1 On after Delay");
        String url = plug.server().getAllServeEvents().get(0).getRequest().getUrl();
        assertThat(url).as("one request, ';' and spaces URL-encoded, credentials as query parameters")
                .contains("cmnd=Backlog%20Power1%20Off%3B%20Delay%2010%3B%20Power1%20On")
                .contains("user=admin").contains("password=Pl4g-S3cret%21%26x");
    }

    @Test
    void tasmotaWarningNeedUserIsAnAuthenticationErrorAndIsNotRetried() {
        TasmotaFake plug = device(new TasmotaFake(PLUG_PASSWORD));
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"tasmota\",\"params\":{\"host\":\"" + plug.host() + "\"},\"secret_ref\":\"POWER_WRONG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "failed".equals(status(id)));
        assertThat((String) commandRow(id).get("detail")).contains("auth").contains("Need user");
        assertThat(eventDetail(id, "power_failed")).containsEntry("error", "auth").containsEntry("step", "cycle");
        assertThat(plug.server().getAllServeEvents()).as("fatal: not retried").hasSize(1);
        assertThat(plug.offs()).isZero();
        assertThat(scalar("SELECT lockout_command_id FROM clients WHERE uuid = ?", d.uuid()))
                .as("nothing was switched: the lockout is given up").isNull();
    }

    @Test
    void raritanPxPowerCycleIsCyclePowerStateOverHttpsWithASelfSignedCertificateOnlyWhenAllowed() {
        RaritanFake pdu = device(new RaritanFake("fleet-power", PLUG_PASSWORD, 1));
        TestDisplay d = silentDisplay();
        pdu.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        // without tls_insecure the self-signed certificate is refused: a configuration error, not retried
        putTarget(d, "{\"driver\":\"raritan-px\",\"params\":{\"host\":\"" + pdu.host() + "\",\"outlet\":0,\"user\":\"fleet-power\"},\"secret_ref\":\"POWER_TEST_PLUG\"}");
        String refused = cycle(d);
        await().atMost(WAIT).until(() -> "failed".equals(status(refused)));
        assertThat((String) commandRow(refused).get("detail")).contains("TLS").contains("tls_insecure");
        assertThat(pdu.offs()).isZero();

        putTarget(d, "{\"driver\":\"raritan-px\",\"params\":{\"host\":\"" + pdu.host() + "\",\"outlet\":0,\"user\":\"fleet-power\",\"tls_insecure\":true},\"secret_ref\":\"POWER_TEST_PLUG\"}");
        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(pdu.switches()).extracting(FakeDevice.Switch::how).containsExactly("cyclePowerState", "cycle delay over");
    }

    @Test
    void redfishUsesPowerCycleWhenTheSystemAllowsItWithASession() {
        RedfishFake bmc = device(new RedfishFake("fleet-power", PLUG_PASSWORD, List.of("On", "ForceOff", "GracefulRestart", "PowerCycle")));
        TestDisplay d = silentDisplay();
        bmc.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, "{\"driver\":\"redfish\",\"params\":{\"host\":\"" + bmc.host() + "\",\"user\":\"fleet-power\",\"auth\":\"session\",\"tls_insecure\":true},\"secret_ref\":\"POWER_TEST_PLUG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(bmc.switches()).extracting(FakeDevice.Switch::how).containsExactly("ResetType PowerCycle", "PowerCycle on");
        assertThat(bmc.openSessions()).as("the session is logged out").isZero();
        assertThat(bmc.loggedOutSessions()).isEqualTo(1);
    }

    @Test
    void redfishWithoutPowerCycleFallsBackToForceOffThenOnAndA400IsUnsupported() {
        // advertises PowerCycle but answers it with 400, as some firmware does: the driver reports it
        // unsupported and the shared route does ForceOff, verify, wait, On, verify
        RedfishFake bmc = device(new RedfishFake("fleet-power", PLUG_PASSWORD, List.of("On", "ForceOff", "PowerCycle"), List.of("PowerCycle")));
        TestDisplay d = silentDisplay();
        bmc.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, "{\"driver\":\"redfish\",\"params\":{\"host\":\"" + bmc.host() + "\",\"user\":\"fleet-power\",\"tls_insecure\":true},\"secret_ref\":\"POWER_TEST_PLUG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(bmc.switches()).extracting(FakeDevice.Switch::how).containsExactly("ResetType ForceOff", "ResetType On");
        assertThat(bmc.server().getAllServeEvents()).anySatisfy(e -> {
            assertThat(e.getRequest().getBodyAsString()).contains("PowerCycle");
            assertThat(e.getResponse().getStatus()).isEqualTo(400);
        });
        assertThat(commandEventTypes(id)).containsSubsequence("power_intent", "power_cycle_unsupported", "power_off",
                "power_off_verified", "power_wait", "power_on").contains("power_on_verified", "power_switched", "command_completed");
    }

    @Test
    void wakeOnLanSendsTheMagicPacketToTheBroadcastAddressAndPowersOnOnly() throws Exception {
        try (DatagramSocket receiver = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            receiver.setSoTimeout(15_000);
            TestDisplay d = silentDisplay();
            putTarget(d, "{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\",\"broadcast\":\"127.0.0.1\",\"port\":"
                    + receiver.getLocalPort() + "}}");

            String id = cycle(d);
            DatagramPacket packet = new DatagramPacket(new byte[200], 200);
            receiver.receive(packet);
            assertThat(packet.getLength()).isEqualTo(102);
            byte[] p = java.util.Arrays.copyOf(packet.getData(), packet.getLength());
            for (int i = 0; i < 6; i++) {
                assertThat(p[i]).isEqualTo((byte) 0xFF);
            }
            for (int rep = 0; rep < 16; rep++) {
                assertThat(java.util.Arrays.copyOfRange(p, 6 + rep * 6, 12 + rep * 6))
                        .containsExactly(0xb8, 0x27, 0xeb, 0x12, 0x34, 0x56);
            }
            await().atMost(WAIT).until(() -> events(d.uuid(), "power_switched") == 1);
            d.bootsAfterPowerCycle(BEAT);
            await().atMost(WAIT).until(() -> "completed".equals(status(id)));
            assertThat(commandEventTypes(id)).containsSubsequence("power_intent", "power_on", "power_switched")
                    .doesNotContain("power_off", "power_cycle");
        }
    }

    @Test
    void httpWebhookDoesOffVerifyWaitOnVerifyWithABearerToken() {
        WebhookFake hub = device(new WebhookFake(WEBHOOK_TOKEN));
        TestDisplay d = silentDisplay();
        hub.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, webhookTarget(hub));

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(hub.switches()).extracting(FakeDevice.Switch::how).containsExactly("POST off", "POST on");
        assertThat(commandEventTypes(id)).containsSubsequence("power_intent", "power_off", "power_off_verified", "power_wait", "power_on",
                "power_on_verified", "power_switched", "command_completed");
        List<String> requests = journal(hub);
        assertThat(requests).containsExactly("POST /outlet/7/off", "GET /outlet/7", "POST /outlet/7/on", "GET /outlet/7");
        double offToOn = ((Number) scalar("""
                SELECT EXTRACT(EPOCH FROM (n.occurred_at - f.occurred_at)) FROM client_events f, client_events n
                WHERE f.command_id = ? AND f.type = 'power_off' AND n.command_id = f.command_id AND n.type = 'power_on'""",
                UUID.fromString(id))).doubleValue();
        assertThat(offToOn).as("off for POWER_OFF_S").isGreaterThanOrEqualTo(1.0);
    }

    @Test
    void aDisplayThatBootsWhileItsOutletIsVerifiedIsCompletedOnlyAfterEveryStepIsWritten() {
        // the display boots the moment it has power and beats every 500 ms; verifying "on" takes
        // 1.5 s: its first heartbeats from the new boot arrive before the cycle has finished
        WebhookFake hub = device(new WebhookFake(WEBHOOK_TOKEN)).slowQueries(1_500);
        TestDisplay d = silentDisplay();
        hub.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, webhookTarget(hub));

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        // the display's reboot_detected (its first health of the new boot) falls anywhere after power_on was sent
        assertThat(commandEventTypes(id).stream().filter(t -> !t.equals("reboot_detected")).toList())
                .as("completed only after the power route wrote its last step")
                .endsWith("power_on", "power_on_verified", "power_switched", "command_completed");
        assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type = 'reboot_detected' "
                + "AND (detail->>'expected')::boolean AND command_id = ?", d.uuid(), UUID.fromString(id)))
                .as("the boot seen mid-cycle is the expected one").isEqualTo(1L);
    }

    @Test
    void anOutletThatStaysOnFailsVerificationAndTheCommandFailsWithPowerRestored() {
        WebhookFake hub = device(new WebhookFake(WEBHOOK_TOKEN));
        hub.stuckOn();
        TestDisplay d = silentDisplay();
        putTarget(d, webhookTarget(hub));

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "failed".equals(status(id)));
        assertThat((String) commandRow(id).get("detail")).contains("verification failed").contains("'on'").contains("3 checks");
        assertThat(eventDetail(id, "power_failed")).containsEntry("step", "verify off");
        assertThat(events(d.uuid(), "power_restore")).as("power switched on again after the failed off").isEqualTo(1);
        assertThat(journal(hub)).containsExactly("POST /outlet/7/off", "GET /outlet/7", "GET /outlet/7", "GET /outlet/7", "POST /outlet/7/on");
    }

    @Test
    void aRetryableRpcErrorIsRetriedWithBackoffThenFailsTheCommand() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(null).rpcError(-104));
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"}}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "failed".equals(status(id)));
        assertThat(plug.server().getAllServeEvents()).as("1 attempt + 2 retries").hasSize(3);
        assertThat((String) commandRow(id).get("detail")).contains("-104");
        assertThat(eventDetail(id, "power_failed")).containsEntry("error", "retryable");
    }

    @Test
    void aWrongPasswordFailsAtOnceAsAnAuthenticationError() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(PLUG_PASSWORD));
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"},\"secret_ref\":\"POWER_WRONG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "failed".equals(status(id)));
        assertThat((String) commandRow(id).get("detail")).contains("HTTP 401").contains("authentication refused")
                .as("no dangling colon after an empty answer").doesNotEndWith(":").doesNotEndWith(": ");
        assertThat(eventDetail(id, "power_failed")).containsEntry("error", "auth");
        assertThat(plug.server().getAllServeEvents()).as("challenge + one signed attempt, no retry").hasSize(2);
        assertThat(plug.offs()).isZero();
        assertThat(http("GET", "/observe/metrics").body()).as("counted per driver, operation and result")
                .containsPattern("fleet_power_operations_total\\{[^}]*driver=\"shelly-gen2\"[^}]*operation=\"cycle\"[^}]*result=\"failed\"")
                .containsPattern("fleet_power_operations_total\\{[^}]*driver=\"shelly-gen2\"[^}]*operation=\"power_cycle\"[^}]*result=\"failed\"");
    }

    @Test
    void powerCyclesThatFailedBeforeSwitchingHoldNoLockoutNotEvenAsAFallback() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(PLUG_PASSWORD));
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"},\"secret_ref\":\"POWER_WRONG\"}");

        for (int i = 0; i < 2; i++) {
            String id = cycle(d);
            await().atMost(WAIT).until(() -> "failed".equals(status(id)));
            assertThat(eventDetail(id, "power_failed")).containsEntry("error", "auth");
        }
        assertThat(plug.offs()).isZero();
        assertThat(scalar("SELECT lockout_command_id FROM clients WHERE uuid = ?", d.uuid()))
                .as("the second failure does not fall back to the first: neither switched anything").isNull();
        cycle(d);
    }

    @Test
    void aDeviceThatDoesNotAnswerTimesOutIsRetriedAndTheCommandFails() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(null));
        plug.delayEveryAnswer(5_000);
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"}}");

        String id = cycle(d);
        await().atMost(Duration.ofSeconds(40)).until(() -> "failed".equals(status(id)));
        assertThat((String) commandRow(id).get("detail")).contains("timeout");
        assertThat(eventDetail(id, "power_failed")).containsEntry("error", "retryable");
        // the native cycle may have been executed: sent once, never again; the state query is retried
        assertThat(plug.server().getAllServeEvents()).extracting(e -> e.getRequest().getBodyAsString())
                .filteredOn(b -> b.contains("Switch.Set")).hasSize(1);
        assertThat(plug.server().getAllServeEvents()).extracting(e -> e.getRequest().getBodyAsString())
                .filteredOn(b -> b.contains("Switch.GetStatus")).hasSize(3);
    }

    @Test
    void aNativeCycleWhoseAnswerTimesOutIsNotSentAgainAndTheOutletStateDecides() {
        ShellyGen1Fake relay = device(new ShellyGen1Fake("admin", PLUG_PASSWORD));
        relay.delaySwitchAnswers(5_000);
        TestDisplay d = silentDisplay();
        relay.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, "{\"driver\":\"shelly-gen1\",\"params\":{\"host\":\"" + relay.host() + "\"},\"secret_ref\":\"POWER_TEST_PLUG\"}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        // one cut of the outlet for one command (the reviewer's fake saw turn=off&timer four times)
        assertThat(relay.switches()).extracting(FakeDevice.Switch::how).containsExactly("turn=off&timer=1", "timer");
        assertThat(eventDetail(id, "power_cycle")).containsKey("state")
                .hasEntrySatisfying("answer", a -> assertThat((String) a).contains("timeout"));
    }

    @Test
    void connectionRefusedIsRetriedAndTheCommandFails() {
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"127.0.0.1:" + TestServices.freePort() + "\"}}");

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "failed".equals(status(id)));
        assertThat((String) commandRow(id).get("detail")).contains("connection refused");
        assertThat(eventDetail(id, "power_failed")).containsEntry("error", "retryable");
    }

    @Test
    void aProtectedOutletIsNeverSwitchedOff() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(null));
        TestDisplay d = silentDisplay();
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"},\"protected\":true}");
        assertThat(getJson("/api/clients/" + d.uuid() + "/power_target").path("protected").asBoolean()).isTrue();

        HttpResponse<String> r = httpPost("/api/clients/" + d.uuid() + "/power_cycle", "{\"force\":true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
        assertThat(json(r.body()).path("error").asText()).isEqualTo("power_target_protected");

        // a power cycle queued before the outlet was protected (here: left queued by a restart) fails with a detail
        UUID queued = UUID.randomUUID();
        update("""
                INSERT INTO client_commands (id, client_uuid, action, status, created_at, expires_at)
                VALUES (?, ?, 'power_cycle', 'queued', now() - interval '20 seconds', now() + interval '5 minutes')""", queued, d.uuid());
        await().atMost(WAIT).until(() -> "failed".equals(status(queued.toString())));
        assertThat((String) commandRow(queued.toString()).get("detail")).contains("protected").contains("never switches it off");
        assertThat(plug.server().getAllServeEvents()).as("the device was never asked").isEmpty();
    }

    @Test
    void twoCyclesOfOneOutletNeverInterleaveTheSecondWaitsForTheFirst() {
        WebhookFake hub = device(new WebhookFake(WEBHOOK_TOKEN));
        TestDisplay a = silentDisplay();
        TestDisplay b = silentDisplay();
        putTarget(a, webhookTarget(hub));
        putTarget(b, webhookTarget(hub)); // two displays on one outlet

        String first = cycle(a);
        String second = cycle(b);
        await().atMost(WAIT).until(() -> events(a.uuid(), "power_switched") + events(b.uuid(), "power_switched") == 2);
        assertThat(journal(hub)).containsExactly(
                "POST /outlet/7/off", "GET /outlet/7", "POST /outlet/7/on", "GET /outlet/7",
                "POST /outlet/7/off", "GET /outlet/7", "POST /outlet/7/on", "GET /outlet/7");
        assertThat(events(a.uuid(), "power_lock_wait") + events(b.uuid(), "power_lock_wait")).as("one of them waited").isEqualTo(1);
        assertThat(List.of(status(first), status(second))).containsOnly("executing");
        // the lock is given back right after power_switched
        await().atMost(WAIT).until(() -> Long.valueOf(0).equals(scalar("SELECT count(*) FROM power_outlet_locks")));
    }

    @Test
    void aDisplayThatSpeaksAgainBeforeItsOutletIsSwitchedIsNotSwitched() {
        WebhookFake hub = device(new WebhookFake(WEBHOOK_TOKEN));
        TestDisplay a = silentDisplay();
        TestDisplay b = silentDisplay();
        putTarget(a, webhookTarget(hub));
        putTarget(b, webhookTarget(hub));

        String first = cycle(a);
        await().atMost(WAIT).until(() -> events(a.uuid(), "power_off") == 1);
        String second = cycle(b);
        await().atMost(WAIT).until(() -> events(b.uuid(), "power_lock_wait") == 1);
        b.heartbeat(); // b is back while waiting for the outlet

        await().atMost(WAIT).until(() -> "cancelled".equals(status(second)));
        assertThat((String) commandRow(second).get("detail")).startsWith("not switched: ").containsPattern("online again|sent a message");
        assertThat(events(b.uuid(), "power_skipped")).isEqualTo(1);
        assertThat(hub.offs()).as("only a's cycle switched the outlet").isEqualTo(1);
        assertThat(status(first)).isEqualTo("executing");
        assertThat(scalar("SELECT lockout_command_id FROM clients WHERE uuid = ?", b.uuid())).as("a cycle that never ran holds no lockout").isNull();
    }

    @Test
    void powerCycleCountsOperationsPerDriverOperationAndResult() {
        WebhookFake hub = device(new WebhookFake(WEBHOOK_TOKEN));
        TestDisplay d = silentDisplay();
        putTarget(d, webhookTarget(hub));
        String id = cycle(d);
        await().atMost(WAIT).until(() -> events(d.uuid(), "power_switched") == 1);
        String metrics = http("GET", "/observe/metrics").body();
        assertThat(metrics).containsPattern("fleet_power_operations_total\\{[^}]*driver=\"http-webhook\"[^}]*operation=\"off\"[^}]*result=\"ok\"[^}]*} 1\\.0")
                .containsPattern("fleet_power_operations_total\\{[^}]*driver=\"http-webhook\"[^}]*operation=\"query\"[^}]*result=\"ok\"")
                .containsPattern("fleet_power_operations_total\\{[^}]*driver=\"http-webhook\"[^}]*operation=\"power_cycle\"[^}]*result=\"switched\"");
        assertThat(status(id)).isEqualTo("executing");
    }

    // ---- power targets over REST ---------------------------------------------------------------

    @Test
    void powerTargetIsStoredReturnedWithoutSecretAndShownOnTheClient() {
        TestDisplay d = silentDisplay();
        assertThat(getJson("/api/clients/" + d.uuid()).path("has_power_target").asBoolean()).isFalse();
        assertPowerError(http("GET", "/api/clients/" + d.uuid() + "/power_target"), 404, "power_target_not_found");

        HttpResponse<String> put = httpPut("/api/clients/" + d.uuid() + "/power_target",
                "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"10.20.0.31\",\"switch_id\":0},\"secret_ref\":\"POWER_TEST_PLUG\"}");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        JsonNode target = json(put.body());
        assertThat(target.path("driver").asText()).isEqualTo("shelly-gen2");
        assertThat(target.path("params").path("host").asText()).isEqualTo("10.20.0.31");
        assertThat(target.path("secret_ref").asText()).isEqualTo("POWER_TEST_PLUG");
        assertThat(target.path("protected").asBoolean()).isFalse();
        HttpResponse<String> get = http("GET", "/api/clients/" + d.uuid() + "/power_target");
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).doesNotContain(PLUG_PASSWORD).isEqualTo(put.body());
        assertThat(getJson("/api/clients/" + d.uuid()).path("has_power_target").asBoolean()).isTrue();
        assertThat(getJson("/api/clients").toString()).contains("\"has_power_target\":true");
        assertThat(scalar("SELECT count(*) FROM power_targets WHERE params::text LIKE ?", "%" + PLUG_PASSWORD + "%")).isEqualTo(0L);
        assertThat(events(d.uuid(), "power_target_set")).isEqualTo(1);

        HttpResponse<String> del = http("DELETE", "/api/clients/" + d.uuid() + "/power_target");
        assertThat(del.statusCode()).isEqualTo(204);
        assertPowerError(http("DELETE", "/api/clients/" + d.uuid() + "/power_target"), 404, "power_target_not_found");
        assertThat(getJson("/api/clients/" + d.uuid()).path("has_power_target").asBoolean()).isFalse();
        assertThat(events(d.uuid(), "power_target_deleted")).isEqualTo(1);
    }

    @Test
    void powerTargetParamsAreValidatedAgainstTheDriversDeclaredParameters() {
        TestDisplay d = silentDisplay();
        String path = "/api/clients/" + d.uuid() + "/power_target";
        HttpResponse<String> missing = httpPut(path, "{\"driver\":\"raritan-px\",\"params\":{\"hots\":\"10.0.0.1\"},\"secret_ref\":\"POWER_TEST_PLUG\"}");
        assertPowerError(missing, 400, "invalid_params");
        JsonNode m = json(missing.body());
        assertThat(m.path("missing").toString()).contains("host").contains("outlet");
        assertThat(m.path("unknown").toString()).contains("hots");
        assertThat(m.path("message").asText()).contains("missing: host, outlet").contains("unknown: hots");

        assertPowerError(httpPut(path, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"h\",\"switch_id\":\"0\"}}"), 400, "invalid_params");
        assertPowerError(httpPut(path, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"h\",\"password\":\"x\"}}"), 400, "invalid_params");
        assertPowerError(httpPut(path, "{\"driver\":\"redfish\",\"params\":{\"host\":\"h\",\"auth\":\"ntlm\"},\"secret_ref\":\"POWER_TEST_PLUG\"}"), 400, "invalid_params");
        assertPowerError(httpPut(path, "{\"driver\":\"no-such-plug\",\"params\":{}}"), 400, "unknown_driver");
        assertPowerError(httpPut(path, "{\"driver\":\"../etc\",\"params\":{}}"), 400, "unknown_driver");
        assertPowerError(httpPut(path, "{\"driver\":\"redfish\",\"params\":{\"host\":\"h\"}}"), 400, "invalid_secret_ref");
        assertPowerError(httpPut(path, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"h\"},\"secret_ref\":\"DATABASE_PASSWORD\"}"), 400, "invalid_secret_ref");
        assertPowerError(httpPut(path, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"h\"},\"secret_ref\":\"POWER_NOT_SET\"}"), 400, "invalid_secret_ref");
        assertPowerError(httpPut(path, "{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"b8:27:eb:12:34:56\"},\"secret_ref\":\"POWER_TEST_PLUG\"}"), 400, "invalid_secret_ref");
        assertPowerError(httpPut(path, "{\"driver\":\"wake-on-lan\",\"params\":{\"mac\":\"not a mac\"}}"), 400, "invalid_params");
        assertPowerError(httpPut(path, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"h\"},\"protected\":\"yes\"}"), 400, "invalid_body");
        assertPowerError(httpPut(path, "{\"driver\":\"shelly-gen2\",\"parms\":{}}"), 400, "invalid_body");
        assertPowerError(httpPut(path, "not json"), 400, "invalid_body");
        assertPowerError(httpPut("/api/clients/" + UUID.randomUUID() + "/power_target", "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"h\"}}"), 404, "client_not_found");
        assertPowerError(httpPut("/api/clients/nope/power_target", "{}"), 400, "invalid_uuid");

        // present but invalid is not missing: missing lists only absent names, invalid the others
        HttpResponse<String> tooLong = httpPut(path, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + "h".repeat(60_000) + "\"}}");
        assertPowerError(tooLong, 400, "invalid_params");
        assertThat(json(tooLong.body()).path("missing").toString()).isEqualTo("[]");
        assertThat(json(tooLong.body()).path("invalid").toString()).isEqualTo("[\"host\"]");
        HttpResponse<String> outOfRange = httpPut(path, "{\"driver\":\"raritan-px\",\"params\":{\"host\":\"h\",\"outlet\":99},\"secret_ref\":\"POWER_TEST_PLUG\"}");
        assertPowerError(outOfRange, 400, "invalid_params");
        assertThat(json(outOfRange.body()).path("missing").toString()).isEqualTo("[]");
        assertThat(json(outOfRange.body()).path("invalid").toString()).isEqualTo("[\"outlet\"]");
        // a regular expression parameter is compiled when stored
        HttpResponse<String> badRegex = httpPut(path, "{\"driver\":\"http-webhook\",\"params\":{\"on_url\":\"http://h/on\",\"off_url\":\"http://h/off\","
                + "\"query_url\":\"http://h/q\",\"on_regex\":\"((((\"}}");
        assertPowerError(badRegex, 400, "invalid_params");
        assertThat(json(badRegex.body()).path("invalid").toString()).isEqualTo("[\"on_regex\"]");
        assertThat(json(badRegex.body()).path("message").asText()).contains("on_regex").contains("regular expression");
        assertThat(scalar("SELECT count(*) FROM power_targets WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
    }

    @Test
    void powerDriverSchemaIsServed() {
        JsonNode d = getJson("/api/power_drivers/shelly-gen2");
        assertThat(d.path("native_cycle").asBoolean()).isTrue();
        assertThat(d.path("required").toString()).contains("host");
        assertThat(d.path("properties").path("password").path("format").asText()).isEqualTo("password");
        assertThat(d.path("properties").path("password").has("default")).as("no secret value").isFalse();
        // the full declared schema of each parameter: what PUT enforces is what GET shows
        JsonNode raritan = getJson("/api/power_drivers/raritan-px").path("properties").path("outlet");
        assertThat(raritan.path("minimum").asLong()).isZero();
        assertThat(raritan.path("maximum").toString()).isEqualTo("63");
        JsonNode webhook = getJson("/api/power_drivers/http-webhook").path("properties");
        assertThat(webhook.path("on_url").path("pattern").asText()).isEqualTo("https?://.+");
        assertThat(webhook.path("auth").path("enum").isArray()).isTrue();
        assertThat(webhook.path("auth").path("enum").toString()).contains("bearer");
        assertThat(webhook.path("on_regex").path("format").asText()).isEqualTo("regex");
        assertThat(getJson("/api/power_drivers/wake-on-lan").path("operations").toString()).isEqualTo("[\"on\"]");
        assertPowerError(http("GET", "/api/power_drivers/nothing"), 400, "unknown_driver");
    }

    @Test
    void powerCycleRequestIsCheckedLockedOutAndForcedLikeEveryCommand() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(null));
        TestDisplay d = silentDisplay();
        String path = "/api/clients/" + d.uuid() + "/power_cycle";
        assertPowerError(httpPost(path, ""), 404, "power_target_not_found");
        assertPowerError(httpPost("/api/clients/" + UUID.randomUUID() + "/power_cycle", ""), 404, "client_not_found");
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"}}");
        assertPowerError(httpPost(path, "{\"action\":\"power_cycle\"}"), 400, "invalid_body");
        assertPowerError(httpPost(path, "{\"ttl_s\":1}"), 400, "invalid_ttl");
        assertPowerError(httpPost("/api/clients/" + d.uuid() + "/commands", "{\"action\":\"power_cycle\"}"), 400, "unknown_action");

        String first = cycle(d);
        HttpResponse<String> locked = httpPost(path, "{}");
        assertThat(locked.statusCode()).as(locked.body()).isEqualTo(409);
        assertThat(json(locked.body()).path("error").asText()).isEqualTo("lockout");
        assertThat(json(locked.body()).path("command_id").asText()).isEqualTo(first);
        assertThat(locked.headers().firstValue("Retry-After")).isPresent();
        await().atMost(WAIT).until(() -> events(d.uuid(), "power_switched") == 1);

        // the display is back (heartbeats): a power cycle would cut a working display, unless forced
        d.heartbeat();
        await().atMost(WAIT).until(() -> "online".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid())));
        HttpResponse<String> forcedLockout = httpPost(path, "{\"reason\":\"operator\"}");
        assertThat(json(forcedLockout.body()).path("error").asText()).isIn("client_online", "lockout");
        HttpResponse<String> forced = httpPost(path, "{\"force\":true,\"reason\":\"screen black, agent alive\"}");
        assertThat(forced.statusCode()).as(forced.body()).isEqualTo(202);
        JsonNode cmd = json(forced.body());
        assertThat(cmd.path("forced").asBoolean()).isTrue();
        assertThat(scalar("SELECT detail->>'overrode_lockout_of' FROM client_events WHERE command_id = ? AND type = 'command_queued'",
                UUID.fromString(cmd.path("id").asText()))).isEqualTo(first);
        await().atMost(WAIT).until(() -> plug.offs() == 2);
    }

    @Test
    void anOnlineDisplayIsNotPowerCycledUnlessForced() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(null));
        TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID());
        displays.add(d);
        d.health("running");
        d.keepBeating(BEAT);
        await().atMost(WAIT).until(() -> "online".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid())));
        putTarget(d, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"}}");
        assertPowerError(httpPost("/api/clients/" + d.uuid() + "/power_cycle", ""), 409, "client_online");
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
        assertThat(plug.server().getAllServeEvents()).isEmpty();
    }

    @Test
    void powerTargetsNeedAdminReadingThemViewerAndAPowerCycleOperator() {
        ShellyGen2Fake plug = device(new ShellyGen2Fake(null));
        TestDisplay d = silentDisplay();
        String target = "/api/clients/" + d.uuid() + "/power_target";
        String body = "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + plug.host() + "\"}}";
        assertThat(request("PUT", target, body, token(Role.OPERATOR), Map.of()).statusCode()).isEqualTo(403);
        assertThat(request("PUT", target, body, null, Map.of()).statusCode()).isEqualTo(401);
        assertThat(scalar("SELECT count(*) FROM power_targets WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);
        putTarget(d, body);
        assertThat((String) scalar("SELECT updated_by FROM power_targets WHERE client_uuid = ?", d.uuid())).isEqualTo(tokenName(Role.ADMIN));
        assertThat(httpAs(Role.VIEWER, "GET", target).statusCode()).isEqualTo(200);
        assertThat(httpAs(Role.VIEWER, "GET", "/api/power_drivers/tasmota").statusCode()).isEqualTo(200);
        assertThat(httpAs(Role.OPERATOR, "DELETE", target).statusCode()).isEqualTo(403);
        assertThat(httpPostAs(Role.VIEWER, "/api/clients/" + d.uuid() + "/power_cycle", "{}").statusCode()).isEqualTo(403);
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", d.uuid())).isEqualTo(0L);

        HttpResponse<String> r = httpPostAs(Role.OPERATOR, "/api/clients/" + d.uuid() + "/power_cycle", "{}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        assertThat(json(r.body()).path("requested_by").asText()).isEqualTo(tokenName(Role.OPERATOR));
        await().atMost(WAIT).until(() -> plug.offs() == 1);
        assertThat(httpAs(Role.ADMIN, "DELETE", target).statusCode()).isEqualTo(204);
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static void assertPowerError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(json(r.body()).path("error").asText()).as(r.body()).isEqualTo(code);
        assertThat(json(r.body()).path("message").asText()).isNotBlank();
    }

    private String cycle(TestDisplay d) {
        HttpResponse<String> r = httpPost("/api/clients/" + d.uuid() + "/power_cycle", "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r.body()).path("id").asText();
    }

    private String webhookTarget(WebhookFake hub) {
        return "{\"driver\":\"http-webhook\",\"params\":{\"on_url\":\"" + hub.baseUrl() + "/outlet/7/on\",\"off_url\":\"" + hub.baseUrl()
                + "/outlet/7/off\",\"query_url\":\"" + hub.baseUrl() + "/outlet/7\",\"auth\":\"bearer\"},\"secret_ref\":\"POWER_TEST_TOKEN\"}";
    }

    /** @return the fake's requests in the order it received them: "METHOD /path" */
    private static List<String> journal(FakeDevice device) {
        // WireMock lists its journal newest first
        List<com.github.tomakehurst.wiremock.stubbing.ServeEvent> all = new ArrayList<>(device.server().getAllServeEvents());
        java.util.Collections.reverse(all);
        return all.stream().map(e -> e.getRequest().getMethod().value() + " " + e.getRequest().getUrl()).toList();
    }

    /** @return the detail of a command's newest event of a type, values as text */
    private Map<String, Object> eventDetail(String commandId, String type) {
        Map<String, Object> out = new java.util.HashMap<>();
        query("""
                SELECT d.key, d.value FROM (SELECT detail FROM client_events WHERE command_id = ? AND type = ?
                                            ORDER BY id DESC LIMIT 1) e, jsonb_each_text(e.detail) d""", UUID.fromString(commandId), type)
                .forEach(r -> out.put((String) r.get("key"), r.get("value")));
        return out;
    }


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
