package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.simulator.FleetSimulator;
import org.infoscreen.fleet.simulator.LoadResult;
import org.infoscreen.fleet.simulator.SimulatedDisplay;
import org.infoscreen.fleet.simulator.SimulatorConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The fleet simulator against the service, end to end over the broker: its displays register,
 * a crash is detected, commands are answered like a display does (restart_app fixes the app,
 * reboot_host comes back with a new boot_id), a hung display turns stale, a powered-off one
 * offline, a flapping one reports its reconnects, a failed unit is listed, and a load run is
 * acknowledged and stored completely.
 */
class SimulatorTest extends FleetTestSupport {

    private static final int DISPLAYS = 20;
    private FleetSimulator fleet;

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.liveness.stale-after-s", "4");
        p.setProperty("fleet.liveness.offline-grace-s", "1");
        return p;
    }

    @BeforeAll
    void startFleet() throws InterruptedException {
        fleet = FleetSimulator.start(SimulatorConfig.defaults()
                .brokerUrl(mqttUrl())
                .topicPrefix(topicPrefix())
                .clients(DISPLAYS)
                .seed(42)
                .heartbeatInterval(Duration.ofSeconds(1))
                .healthInterval(Duration.ofSeconds(5))
                .commandStepDelay(Duration.ofMillis(50))
                .rebootDuration(Duration.ofSeconds(1))
                .flapDowntime(Duration.ofMillis(300))
                .sessionExpiry(Duration.ofSeconds(120)));
        assertThat(fleet.awaitConnected(Duration.ofSeconds(30))).isTrue();
    }

    @AfterAll
    void stopFleet() {
        if (fleet != null) {
            fleet.close();
        }
    }

    private JsonNode client(UUID uuid) {
        return getJson("/api/clients/" + uuid);
    }

    @Test
    void everyDisplayAppearsWithItsHealthSnapshot() {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(getJson("/api/monitoring/overview").path("counts").path("online").asInt()).isGreaterThanOrEqualTo(DISPLAYS - 5));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(getJson("/api/clients").path("clients").size()).isEqualTo(DISPLAYS));
        SimulatedDisplay d = fleet.display(2);
        assertThat(d.uuid()).isEqualTo(UUID.fromString("5eed002a-0000-4000-8000-000000000002"));
        // the retained online status may register the display a moment before its first health snapshot is stored
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode c = client(d.uuid());
            assertThat(c.path("hostname").asText()).isEqualTo("sim-display-0002");
            assertThat(c.path("boot_id").asText()).isEqualTo(d.bootId());
            assertThat(c.path("health").path("broker_connection").has("reconnect_count")).isTrue();
            assertThat(c.path("connection_state").asText()).isEqualTo("online");
        });
    }

    @Test
    void aCrashedDisplayIsDetectedAndRestartAppBringsItBack() {
        SimulatedDisplay d = fleet.display(3);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(d.uuid(), "client_registered") == 1);
        d.crash();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(getJson("/api/clients/crashed").toString()).contains(d.uuid().toString()));
        assertThat(events(d.uuid(), "crash_detected")).isEqualTo(1);

        String id = createdId(d.uuid(), "{\"action\":\"restart_app\",\"reason\":\"simulator test\"}");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(status(id)).isEqualTo("completed"));
        assertThat(commandEventTypes(id)).contains("command_accepted", "command_executing", "command_completed");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(client(d.uuid()).path("liveness_state").asText()).isEqualTo("online"));
        assertThat(d.processStatus()).isEqualTo("running");
    }

    @Test
    void rebootHostComesBackWithANewBootId() {
        SimulatedDisplay d = fleet.display(4);
        await().atMost(Duration.ofSeconds(20)).until(() -> d.bootId().equals(client(d.uuid()).path("boot_id").asText()));
        String before = d.bootId();
        String id = createdId(d.uuid(), "{\"action\":\"reboot_host\"}");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(status(id)).isEqualTo("completed"));
        assertThat(d.bootId()).isNotEqualTo(before);
        assertThat(client(d.uuid()).path("boot_id").asText()).isEqualTo(d.bootId());
        assertThat(scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type = 'reboot_detected' AND command_id = ?",
                d.uuid(), UUID.fromString(id))).isEqualTo(1L);
    }

    @Test
    void aHungDisplayTurnsStaleWithoutALastWill() {
        SimulatedDisplay d = fleet.display(5);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(d.uuid(), "client_registered") == 1);
        d.hang();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(client(d.uuid()).path("liveness_state").asText()).isEqualTo("stale"));
        assertThat(client(d.uuid()).path("connection_state").asText()).isEqualTo("online");
        assertThat(d.connected()).isTrue();
        d.recover();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(client(d.uuid()).path("liveness_state").asText()).isEqualTo("online"));
    }

    @Test
    void aPoweredOffDisplayGoesOfflineThroughItsLastWillAndComesBackWithANewBoot() {
        SimulatedDisplay d = fleet.display(6);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(d.uuid(), "client_registered") == 1);
        String before = d.bootId();
        d.powerOff();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(client(d.uuid()).path("liveness_state").asText()).isEqualTo("offline"));
        d.powerOn();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode c = client(d.uuid());
            assertThat(c.path("liveness_state").asText()).isEqualTo("online");
            assertThat(c.path("boot_id").asText()).isEqualTo(d.bootId()).isNotEqualTo(before);
        });
    }

    @Test
    void aFlappingDisplayReportsItsReconnects() {
        SimulatedDisplay d = fleet.display(7);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(d.uuid(), "client_registered") == 1);
        d.flap(3);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode c = client(d.uuid());
            assertThat(c.path("mqtt_reconnect_count").asInt()).isEqualTo(3);
            assertThat(c.path("mqtt_last_disconnect_at").isNull()).isFalse();
            assertThat(c.path("connection_state").asText()).isEqualTo("online");
        });
        assertThat(d.reconnectCount()).isEqualTo(3);
    }

    @Test
    void aFailedUnitIsListedUntilAcknowledged() {
        SimulatedDisplay d = fleet.display(8);
        await().atMost(Duration.ofSeconds(20)).until(() -> events(d.uuid(), "client_registered") == 1);
        d.serviceFailed("chromium-kiosk.service");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(getJson("/api/clients/service_failed").toString()).contains(d.uuid().toString(), "chromium-kiosk.service"));
    }

    @Test
    void aLoadRunIsAcknowledgedCompletelyAndStored() throws InterruptedException {
        await().atMost(Duration.ofSeconds(20)).until(() -> fleet.online() >= DISPLAYS - 4);
        double before = ingestedHeartbeats();
        LoadResult r = fleet.publishAtRate(2_000, 1_000);
        assertThat(r.sent()).isEqualTo(2_000);
        assertThat(r.acknowledged()).isEqualTo(2_000);
        assertThat(r.failed()).isZero();
        assertThat(r.achievedRate()).isGreaterThan(100);
        assertThat(r.toString()).contains("2000 messages", "msg/s");
        // every acknowledged heartbeat reaches the database (the displays' own beats come on top)
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                assertThat(ingestedHeartbeats() - before).isGreaterThanOrEqualTo(2_000));
    }

    private double ingestedHeartbeats() {
        return http("GET", "/observe/metrics").body().lines()
                .filter(l -> l.startsWith("fleet_messages_ingested_total{") && l.contains("kind=\"heartbeat\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
