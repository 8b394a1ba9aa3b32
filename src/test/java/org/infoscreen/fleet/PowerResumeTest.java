package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.infoscreen.fleet.power.FakeDevice;
import org.infoscreen.fleet.power.WebhookFake;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A power cycle without a native cycle (http-webhook: off, verify, wait, on, verify) is interrupted
 * by a SIGKILL of the service while its outlet is off (a long {@code POWER_OFF_S}); the service is
 * started again and its resume sweep switches the outlet on again once the outlet lock's lease has
 * run out: the display boots and its new boot_id completes the command. A second cycle interrupted
 * at the same moment, whose hub is unreachable after the restart, fails with a detail that says the
 * outlet may still be off. Neither stays open.
 */
@Slow
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PowerResumeTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "tok-resume-5d2e8a";
    private static final int OFF_S = 12;
    private static final int LEASE_S = 2;

    private final String run = UUID.randomUUID().toString().substring(0, 8);
    private final String schema = "t_powerresume_" + run;
    private final String prefix = "fleettest-powerresume-" + run;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<TestDisplay> displays = new ArrayList<>();
    private final List<FakeDevice> devices = new ArrayList<>();
    private ServiceProcess service;

    @AfterAll
    void cleanUp() throws Exception {
        displays.forEach(TestDisplay::close);
        devices.forEach(FakeDevice::close);
        if (service != null) {
            service.close();
        }
        try (Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    private ServiceProcess startService() {
        Map<String, String> env = new HashMap<>();
        env.put("DATABASE_URL", TestServices.databaseUrl());
        env.put("DATABASE_SCHEMA", schema);
        env.put("DATABASE_POOL_SIZE", "4");
        env.put("MQTT_URL", TestServices.mqttUrl());
        env.put("MQTT_CLIENT_ID", "fleet-powerresume-" + run);
        env.put("MQTT_TOPIC_PREFIX", prefix);
        env.put("COMMAND_RATE_LIMIT_PER_CLIENT", "0");
        env.put("COMMAND_SWEEP_INTERVAL_MS", "500");
        env.put("COMMAND_BOOT_TIMEOUT_S", "60");
        env.put("POWER_OFF_S", String.valueOf(OFF_S));
        env.put("POWER_LOCK_LEASE_S", String.valueOf(LEASE_S));
        env.put("POWER_RESUME_INTERVAL_MS", "500");
        env.put("POWER_RETRY_ATTEMPTS", "1");
        env.put("POWER_RETRY_DELAY_MS", "100");
        env.put("POWER_VERIFY_INTERVAL_MS", "200");
        env.put("POWER_HTTP_TIMEOUT_MS", "2000");
        env.put("POWER_TEST_TOKEN", TOKEN);
        if (service != null) {
            env.put("HTTP_PORT", String.valueOf(service.httpPort()));
        }
        return ServiceProcess.start(env).awaitHealthy(Duration.ofSeconds(120));
    }

    @Test
    void aCycleInterruptedWhileTheOutletIsOffIsResumedAfterTheRestartOutletOnAndCompletedByTheNewBoot() throws Exception {
        service = startService();
        WebhookFake hub = device(new WebhookFake(TOKEN));
        WebhookFake lost = device(new WebhookFake(TOKEN));
        TestDisplay d = display();
        TestDisplay e = display();
        put("/api/clients/" + d.uuid() + "/power_target", target(hub));
        put("/api/clients/" + e.uuid() + "/power_target", target(lost));
        String id = cycle(d);
        String lostId = cycle(e);

        // both outlets are off, both cycles wait POWER_OFF_S: the service dies
        await().atMost(Duration.ofSeconds(30)).until(() -> events(id, "power_wait") == 1 && events(lostId, "power_wait") == 1);
        assertThat(service.kill()).isNotZero();
        assertThat(hub.isOn(0)).isFalse();
        assertThat(scalar("SELECT step FROM power_outlet_locks WHERE command_id = ? AND intent_at IS NOT NULL", UUID.fromString(id)))
                .as("the intent and the last step are on record").isEqualTo("power_wait");
        assertThat(status(id)).isEqualTo("executing");

        hub.onPowerRestored(() -> d.bootsAfterPowerCycle(Duration.ofMillis(500)));
        lost.close(); // e's hub is gone: its outlet cannot be switched on again
        service = startService();

        await().atMost(Duration.ofSeconds(60)).until(() -> "completed".equals(status(id)));
        assertThat(hub.switches()).extracting(FakeDevice.Switch::how).as("switched on again, once").containsExactly("POST off", "POST on");
        assertThat(hub.isOn(0)).isTrue();
        assertThat(types(id)).containsSubsequence("power_intent", "power_off", "power_off_verified", "power_wait",
                "power_resume", "power_on", "power_on_verified", "power_switched", "command_completed");
        assertThat(scalar("SELECT detail->>'interrupted_step' FROM client_events WHERE command_id = ? AND type = 'power_resume'",
                UUID.fromString(id))).isEqualTo("power_wait");
        assertThat((String) scalar("SELECT detail FROM client_commands WHERE id = ?", UUID.fromString(id))).contains("confirmed by new boot_id");

        await().atMost(Duration.ofSeconds(60)).until(() -> "failed".equals(status(lostId)));
        assertThat((String) scalar("SELECT detail FROM client_commands WHERE id = ?", UUID.fromString(lostId)))
                .contains("interrupted by a service restart").contains("may still be OFF").contains("connection refused");
        assertThat(types(lostId)).containsSubsequence("power_wait", "power_resume", "power_failed", "command_failed")
                .doesNotContain("power_switched");
        assertThat(scalar("SELECT count(*) FROM power_outlet_locks")).as("both outlets are free again").isEqualTo(0L);
        assertThat(service.log()).contains("may still be OFF");
    }

    // ---- helpers -------------------------------------------------------------------------------

    private <T extends FakeDevice> T device(T device) {
        devices.add(device);
        return device;
    }

    private TestDisplay display() {
        TestDisplay d = TestDisplay.connect(TestServices.mqttUrl(), prefix, UUID.randomUUID());
        displays.add(d);
        d.health("running");
        await().atMost(Duration.ofSeconds(20)).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        return d;
    }

    private static String target(WebhookFake hub) {
        return "{\"driver\":\"http-webhook\",\"params\":{\"on_url\":\"" + hub.baseUrl() + "/outlet/7/on\",\"off_url\":\"" + hub.baseUrl()
                + "/outlet/7/off\",\"query_url\":\"" + hub.baseUrl() + "/outlet/7\",\"auth\":\"bearer\"},\"secret_ref\":\"POWER_TEST_TOKEN\"}";
    }

    /** A forced power cycle (the display is still online: it only stops answering once its power is cut). */
    private String cycle(TestDisplay d) throws Exception {
        HttpResponse<String> r = send("POST", "/api/clients/" + d.uuid() + "/power_cycle", "{\"force\":true,\"reason\":\"screen frozen\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        JsonNode cmd = JSON.readTree(r.body());
        return cmd.path("id").asText();
    }

    private void put(String path, String body) throws Exception {
        HttpResponse<String> r = send("PUT", path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(service.baseUrl() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + service.adminToken())
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private String status(String id) {
        return (String) scalar("SELECT status FROM client_commands WHERE id = ?", UUID.fromString(id));
    }

    private long events(String id, String type) {
        return ((Number) scalar("SELECT count(*) FROM client_events WHERE command_id = ? AND type = ?", UUID.fromString(id), type)).longValue();
    }

    private List<String> types(String id) {
        List<String> out = new ArrayList<>();
        try (Connection c = connection();
             PreparedStatement ps = c.prepareStatement("SELECT type FROM client_events WHERE command_id = ? ORDER BY id")) {
            ps.setObject(1, UUID.fromString(id));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        } catch (java.sql.SQLException ex) {
            throw new IllegalStateException(ex);
        }
        return out;
    }

    private Object scalar(String sql, Object... args) {
        try (Connection c = connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getObject(1) : null;
            }
        } catch (java.sql.SQLException ex) {
            // the schema does not exist before the first start's migration
            return null;
        }
    }

    private Connection connection() throws java.sql.SQLException {
        Connection c = DriverManager.getConnection(TestServices.databaseUrl(), "postgres", null);
        try (Statement s = c.createStatement()) {
            s.execute("SET search_path TO " + schema);
        }
        return c;
    }
}
