package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code API_AUTH_ENABLED=false} (behind an authenticating proxy): every endpoint answers without
 * a token, as {@code anonymous}; one loud WARN at start and a warning in health say so.
 */
class AuthDisabledTest extends FleetTestSupport {

    private static final LogCapture LOG = LogCapture.start();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.api.auth-enabled", "false");
        return p;
    }

    @Test
    void requestsPassWithoutATokenAsAnonymousAndTheServiceWarns() {
        assertThat(httpWithoutToken("GET", "/api/clients").statusCode()).isEqualTo(200);
        JsonNode me = json(httpWithoutToken("GET", "/api/whoami").body());
        assertThat(me.path("name").asText()).isEqualTo("anonymous");
        assertThat(me.path("auth_enabled").asBoolean()).isFalse();

        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> httpWithoutToken("GET", "/api/clients/" + uuid).statusCode() == 200);
        HttpResponse<String> created = request("POST", "/api/clients/" + uuid + "/commands", "{\"action\":\"restart_app\"}", null,
                java.util.Map.of("fleetPrincipal", "mallory"));
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        assertThat(json(created.body()).path("requested_by").asText()).isEqualTo("anonymous");

        String health = httpWithoutToken("GET", "/observe/health").body();
        assertThat(health).contains("fleet-api-auth").contains("REST authentication is disabled");
        assertThat(LOG.text().split("REST AUTHENTICATION IS DISABLED", -1)).hasSize(2);
    }
}
