package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.power.WebhookFake;
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
 * Start-up completion does not depend on when readiness is first probed (issue #4): a power cycle
 * that runs before anyone asks {@code /observe/health/ready} (its driver route is created and then
 * stopped) must not keep {@code fleet-startup} DOWN for good.
 */
class ReadinessBeforeFirstProbeTest extends FleetTestSupport {

    private static final String TOKEN = "tok-health-4c3f";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.liveness.stale-after-s", "2");
        p.setProperty("fleet.liveness.offline-grace-s", "1");
        p.setProperty("fleet.power.off-s", "1");
        p.setProperty("fleet.power.verify-interval-ms", "200");
        p.setProperty("fleet.power.lock-poll-ms", "100");
        return p;
    }

    @Override
    protected Map<String, String> extraEnvironment() {
        return Map.of("POWER_HEALTH_TOKEN", TOKEN);
    }

    @Test
    void readinessTurnsUpWhenAPowerCycleRanBeforeTheFirstProbe() {
        try (WebhookFake hub = new WebhookFake(TOKEN);
             TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID())) {
            hub.onPowerRestored(() -> d.bootsAfterPowerCycle(Duration.ofMillis(500)));
            d.health("running");
            await().atMost(WAIT).until(() -> "stale".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid())));
            HttpResponse<String> put = httpPut("/api/clients/" + d.uuid() + "/power_target",
                    "{\"driver\":\"http-webhook\",\"params\":{\"on_url\":\"" + hub.baseUrl() + "/outlet/7/on\",\"off_url\":\""
                            + hub.baseUrl() + "/outlet/7/off\",\"query_url\":\"" + hub.baseUrl()
                            + "/outlet/7\",\"auth\":\"bearer\"},\"secret_ref\":\"POWER_HEALTH_TOKEN\"}");
            assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
            HttpResponse<String> cycle = httpPost("/api/clients/" + d.uuid() + "/power_cycle", "");
            assertThat(cycle.statusCode()).as(cycle.body()).isEqualTo(202);
            String id = json(cycle.body()).path("id").asText();
            await().atMost(WAIT).until(() -> "completed".equals(status(id)));
            assertThat(hub.switches()).isNotEmpty();

            // the first readiness probe of this class: UP although a driver route is stopped
            // readiness stays UP (the routes health checks run every few seconds: watch a while)
            await().pollDelay(Duration.ofSeconds(6)).atMost(WAIT).untilAsserted(() -> {
                HttpResponse<String> ready = http("GET", "/observe/health/ready?data=true");
                assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
            });
            List<String> checks = new ArrayList<>();
            for (JsonNode c : json(http("GET", "/observe/health/ready?data=true").body()).path("checks")) {
                checks.add(c.path("name").asText());
            }
            assertThat(checks).as("driver routes are not readiness checks").noneMatch(n -> n.contains("power-action"));
            assertThat(checks).as("the service's own checks stay").contains("fleet-database");
        }
    }
}
