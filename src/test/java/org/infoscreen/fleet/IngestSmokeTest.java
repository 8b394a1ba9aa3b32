package org.infoscreen.fleet;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class IngestSmokeTest extends FleetTestSupport {

    @Test
    void healthMessageForNewClientAppearsInRest() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", """
                {"ts":"2026-11-29T12:00:00Z","hostname":"lobby-01","process_status":"running","boot_id":"b1",
                 "broker_connection":{"reconnect_count":3,"last_disconnect_at":"2026-11-29T11:59:00Z"}}""");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            var body = getJson("/api/clients/" + uuid);
            assertThat(body.path("mqtt_reconnect_count").asInt()).isEqualTo(3);
            assertThat(body.path("mqtt_last_disconnect_at").asText()).isEqualTo("2026-11-29T11:59:00Z");
        });
    }
}
