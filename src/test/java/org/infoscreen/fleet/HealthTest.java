package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.infoscreen.fleet.mqtt.SessionSafeMqttConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Liveness and readiness (docs/monitoring.md): readiness turns DOWN when the database becomes
 * unreachable and when the MQTT ingest consumer stops receiving (connected, yet nothing arrives,
 * not even the self-probe), and UP again when that ends; liveness stays UP meanwhile; the
 * self-probe is never stored or quarantined; health answers reveal no address or credential.
 */
class HealthTest extends FleetTestSupport {

    private TcpProxy database;

    private synchronized TcpProxy database() {
        if (database == null) {
            URI target = URI.create(TestServices.databaseUrl().substring("jdbc:".length()));
            database = new TcpProxy(target.getHost(), target.getPort());
        }
        return database;
    }

    @Override
    protected Properties extraProperties() {
        URI target = URI.create(TestServices.databaseUrl().substring("jdbc:".length()));
        Properties p = new Properties();
        p.setProperty("fleet.db.url", "jdbc:postgresql://127.0.0.1:" + database().port() + target.getPath()
                + (target.getQuery() != null ? "?" + target.getQuery() : ""));
        p.setProperty("fleet.health.probe-interval-ms", "300");
        p.setProperty("fleet.health.max-silence-s", "2");
        p.setProperty("fleet.health.resubscribe-after-s", "6");
        return p;
    }

    @AfterAll
    void closeProxy() {
        if (database != null) {
            database.close();
        }
    }

    private JsonNode check(String name) {
        JsonNode body = json(http("GET", "/observe/health/ready?data=true").body());
        for (JsonNode c : body.path("checks")) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + body);
    }

    private void awaitReady() {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(http("GET", "/observe/health/ready").statusCode()).isEqualTo(200));
    }

    @Test
    void readinessIsDownWhileTheDatabaseIsUnreachableAndUpAgainAfterwards() {
        awaitReady();
        assertThat(check("fleet-database").path("data").path("reachable").asBoolean()).isTrue();

        database().cut();
        try {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                HttpResponse<String> r = http("GET", "/observe/health/ready");
                assertThat(r.statusCode()).isEqualTo(503);
                assertThat(json(r.body()).path("status").asText()).isEqualTo("DOWN");
                JsonNode db = check("fleet-database");
                assertThat(db.path("status").asText()).isEqualTo("DOWN");
                assertThat(db.path("data").path("reachable").asBoolean()).isFalse();
            });
            // a database outage is no reason to restart the process
            assertThat(http("GET", "/observe/health/live").statusCode()).isEqualTo(200);
            assertThat(http("GET", "/observe/health/ready?data=true").body())
                    .doesNotContain(TestServices.databaseUrl()).doesNotContain("127.0.0.1:" + database().port())
                    .doesNotContainIgnoringCase("password");
        } finally {
            database().restore();
        }
        awaitReady();
        assertThat(check("fleet-database").path("status").asText()).isEqualTo("UP");
    }

    @Test
    void readinessIsDownWhenTheConsumerStopsReceivingAndTheWatchdogSubscribesAgain() throws Exception {
        awaitReady();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                !check("fleet-mqtt-ingest").path("data").path("last_probe_at").asText().isEmpty());
        JsonNode before = check("fleet-mqtt-ingest").path("data");
        assertThat(before.path("connected").asBoolean()).isTrue();
        assertThat(before.path("subscribed").asBoolean()).isTrue();
        assertThat(before.path("last_probe_at").asText()).isNotBlank();
        long resubscribes = before.path("resubscribes").asLong();

        // the state a failed resubscribe leaves behind: connected, nothing arrives
        SessionSafeMqttConsumer ingest = (SessionSafeMqttConsumer) context.getRoute("mqtt-ingest").getConsumer();
        MqttClient consumer = ingest.client();
        // every filter of the ingest: the (shared) device subscription and the unshared own self-probe topic
        consumer.unsubscribe(new String[] {ingest.getEndpoint().getTopic(),
                org.infoscreen.fleet.health.MqttIngestMonitor.probeTopicPrefix(topicPrefix()) + consumer.getClientId()});

        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            assertThat(http("GET", "/observe/health/ready").statusCode()).isEqualTo(503);
            JsonNode c = check("fleet-mqtt-ingest");
            assertThat(c.path("status").asText()).isEqualTo("DOWN");
            assertThat(c.path("data").path("connected").asBoolean()).isTrue();
            assertThat(c.path("data").path("last_message_age_s").asLong()).isGreaterThanOrEqualTo(2);
        });
        assertThat(http("GET", "/observe/health/live").statusCode()).isEqualTo(200);

        // the watchdog notices the silence and subscribes again: probes arrive, readiness is UP
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode c = check("fleet-mqtt-ingest");
            assertThat(c.path("status").asText()).isEqualTo("UP");
            assertThat(c.path("data").path("resubscribes").asLong()).isGreaterThan(resubscribes);
        });
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> events(uuid, "client_registered") == 1);
    }

    @Test
    void selfProbesAreNeitherStoredNorQuarantined() {
        awaitReady();
        await().atMost(Duration.ofSeconds(10)).until(() ->
                check("fleet-mqtt-ingest").path("data").path("last_probe_at").asText().length() > 0);
        assertThat(scalar("SELECT count(*) FROM rejected_messages WHERE topic LIKE '%/_service/%'")).isEqualTo(0L);
        assertThat(scalar("SELECT count(*) FROM clients WHERE hostname IS NULL AND last_alive_at IS NULL")).isEqualTo(0L);
    }
}
