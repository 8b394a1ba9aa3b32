package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the open health endpoints reveal (issue #5): the service runs with an
 * {@code MQTT_PASSWORD_FILE} that does not exist, so its MQTT connections fail with reason
 * {@code config} (metric label and health). Without a token {@code /observe/health} — also with
 * {@code ?data=true&stackTrace=true&exposureLevel=full} — shows status and reason codes only,
 * never the file's path, the broker's address or an exception text; any valid token (viewer)
 * gets Camel's full answer. HEAD answers like GET without a body.
 */
class HealthExposureTest extends FleetTestSupport {

    private static final Path MISSING = Path.of(System.getProperty("java.io.tmpdir"),
            "fleet-no-such-dir-" + UUID.randomUUID(), "mqtt-password");
    private static final String[] PATHS = {"/observe/health", "/observe/health/live", "/observe/health/ready"};

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.mqtt.user", "infoscreen-fleet");
        p.setProperty("fleet.mqtt.password-file", MISSING.toString());
        return p;
    }

    private HttpResponse<String> open(String method, String path) {
        return httpWithoutToken(method, path);
    }

    private static JsonNode check(JsonNode health, String name) {
        for (JsonNode check : health.path("checks")) {
            if (name.equals(check.path("name").asText())) {
                return check;
            }
        }
        throw new AssertionError("no check " + name);
    }

    private void awaitConfigFailure() {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode health = json(request("GET", "/observe/health?data=true", null, token(Role.VIEWER), Map.of()).body());
            assertThat(check(health, "fleet-mqtt").path("data").path(clientId() + ".last_failure_reason").asText()).isEqualTo("config");
        });
    }

    @Test
    void anUnreadablePasswordFileIsCountedAsAConfigurationFailure() {
        awaitConfigFailure();
        String metrics = http("GET", "/observe/metrics").body();
        assertThat(metrics).containsPattern("fleet_mqtt_connection_failures_total\\{[^}]*reason=\"config\"[^}]*} [1-9]");
        // every reason exists from the start (at 0): "other" must stay 0
        assertThat(metrics).doesNotContainPattern("fleet_mqtt_connection_failures_total\\{[^}]*reason=\"other\"[^}]*} [1-9]");
        // a configuration error is no transient outage: readiness is DOWN at once
        JsonNode ready = json(http("GET", "/observe/health/ready?data=true").body());
        assertThat(ready.path("status").asText()).isEqualTo("DOWN");
    }

    @Test
    void theOpenHealthAnswerShowsStatusAndReasonCodesOnly() {
        awaitConfigFailure();
        for (String path : PATHS) {
            for (String query : new String[] {"", "?data=true", "?data=true&stackTrace=true&exposureLevel=full"}) {
                HttpResponse<String> r = open("GET", path + query);
                assertThat(r.statusCode()).as(path + query).isIn(200, 503);
                assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
                assertThat(r.body()).as(path + query)
                        .doesNotContain(MISSING.toString()).doesNotContain(MISSING.getParent().getFileName().toString())
                        .doesNotContain("127.0.0.1").doesNotContain("tcp://").doesNotContain("Exception")
                        .doesNotContain("error-message").doesNotContain("stacktrace").doesNotContain("\"data\"")
                        .doesNotContain("MQTT_PASSWORD_FILE");
                JsonNode body = json(r.body());
                assertThat(body.path("status").asText()).isIn("UP", "DOWN");
                for (JsonNode check : body.path("checks")) {
                    assertThat(check.fieldNames()).toIterable().isSubsetOf("name", "status", "reasons");
                }
            }
        }
        JsonNode all = json(open("GET", "/observe/health?data=true").body());
        assertThat(all.path("status").asText()).isEqualTo("DOWN");
        JsonNode mqtt = null;
        for (JsonNode check : all.path("checks")) {
            if ("fleet-mqtt".equals(check.path("name").asText())) {
                mqtt = check;
            }
        }
        assertThat(mqtt).as("fleet-mqtt in " + all).isNotNull();
        assertThat(mqtt.path("status").asText()).isEqualTo("DOWN");
        assertThat(mqtt.path("reasons").path(clientId() + ".last_failure_reason").asText()).isEqualTo("config");
    }

    @Test
    void anyValidTokenGetsTheFullDetails() {
        awaitConfigFailure();
        String full = request("GET", "/observe/health?data=true", null, token(Role.VIEWER), Map.of()).body();
        assertThat(full).contains("MQTT_PASSWORD_FILE").contains("\"data\"");
        // a wrong token is no token: the open answer
        assertThat(request("GET", "/observe/health?data=true", null, "not-a-token", Map.of()).body())
                .doesNotContain("MQTT_PASSWORD_FILE").doesNotContain("\"data\"");
    }

    @Test
    void headAnswersLikeGetWithoutABody() {
        for (String path : PATHS) {
            HttpResponse<String> get = open("GET", path);
            HttpResponse<String> head = open("HEAD", path);
            assertThat(head.statusCode()).as(path).isEqualTo(get.statusCode());
            assertThat(head.body()).as(path).isEmpty();
            assertThat(head.headers().firstValue("Content-Type")).as(path).hasValue("application/json");
            HttpResponse<String> headWithToken = request("HEAD", path, null, token(Role.VIEWER), Map.of());
            assertThat(headWithToken.statusCode()).as(path).isEqualTo(get.statusCode());
            assertThat(headWithToken.body()).as(path).isEmpty();
        }
        assertThat(open("POST", "/observe/health").statusCode()).isEqualTo(405);
    }
}
