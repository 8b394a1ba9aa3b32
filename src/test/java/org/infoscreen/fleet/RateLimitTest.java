package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Rate limit of command creation (issue #5, item 8): per client and per API token; over the limit
 * 429 {@code rate_limited} with {@code Retry-After}, and no command is created.
 */
class RateLimitTest extends FleetTestSupport {

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.api.command-rate.per-token", "3");
        p.setProperty("fleet.api.command-rate.per-client", "2");
        p.setProperty("fleet.api.command-rate.period-s", "60");
        return p;
    }

    @Test
    void commandRequestsOverTheLimitPerClientAndPerTokenAre429WithRetryAfter() {
        UUID x = client();
        // client limit 2: any request counts, also one refused by the lockout
        assertThat(httpPostAs(Role.ADMIN, "/api/clients/" + x + "/commands", "{\"action\":\"restart_app\"}").statusCode()).isEqualTo(202);
        assertThat(httpPostAs(Role.OPERATOR, "/api/clients/" + x + "/commands", "{\"action\":\"restart_app\"}").statusCode()).isEqualTo(409);
        HttpResponse<String> perClient = httpPostAs(Role.ADMIN, "/api/clients/" + x + "/commands", "{\"action\":\"restart_app\",\"force\":true}");
        assertRateLimited(perClient);
        assertThat(json(perClient.body()).path("message").asText()).contains("client " + x);
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", x)).isEqualTo(1L);

        // token limit 3: the operator token has used 1, the admin token 2
        UUID y1 = client();
        UUID y2 = client();
        UUID y3 = client();
        assertThat(httpPostAs(Role.OPERATOR, "/api/clients/" + y1 + "/commands", "{\"action\":\"restart_app\"}").statusCode()).isEqualTo(202);
        assertThat(httpPostAs(Role.OPERATOR, "/api/clients/" + y2 + "/commands", "{\"action\":\"restart_app\"}").statusCode()).isEqualTo(202);
        HttpResponse<String> perToken = httpPostAs(Role.OPERATOR, "/api/clients/" + y3 + "/commands", "{\"action\":\"restart_app\"}");
        assertRateLimited(perToken);
        assertThat(json(perToken.body()).path("message").asText()).contains("API token 'test-operator'");
        assertThat(scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", y3)).isEqualTo(0L);
        // another token is not affected
        assertThat(httpPostAs(Role.ADMIN, "/api/clients/" + y3 + "/commands", "{\"action\":\"restart_app\"}").statusCode()).isEqualTo(202);
        // reads are never limited
        for (int i = 0; i < 10; i++) {
            assertThat(httpAs(Role.OPERATOR, "GET", "/api/clients/" + y3 + "/commands").statusCode()).isEqualTo(200);
        }
    }

    private static void assertRateLimited(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = json(r.body());
        assertThat(body.path("error").asText()).isEqualTo("rate_limited");
        long retryAfter = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 60L);
        assertThat(body.path("retry_after_s").asLong()).isEqualTo(retryAfter);
    }

    private UUID client() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> scalar("SELECT count(*) FROM clients WHERE uuid = ?", uuid).equals(1L));
        return uuid;
    }
}
