package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.camel.main.MainConfigurationProperties;
import org.apache.camel.test.junit5.CamelContextConfiguration;
import org.apache.camel.test.main.junit5.CamelMainTestSupport;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.infoscreen.fleet.security.ApiToken;
import org.infoscreen.fleet.security.Role;

import static org.assertj.core.api.Assertions.assertThat;

import javax.sql.DataSource;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/**
 * Base of the service tests: one Camel context per test class, started from the real
 * {@code routes/} folder and {@code application.properties}, against real PostgreSQL and MQTT
 * (see {@link TestServices}). Each class gets its own database schema, topic prefix, MQTT client
 * id and HTTP port, so classes never see each other's data, and its own API tokens, one per role
 * ({@link #token(Role)}): {@link #http} and {@link #httpPost} send the admin token,
 * {@link #httpAs}/{@link #httpPostAs} another role's, {@link #httpWithoutToken} none, and
 * {@link #request} anything. Command rate limits are off unless a class sets them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class FleetTestSupport extends CamelMainTestSupport {

    protected static final ObjectMapper JSON = new ObjectMapper();

    // initialised lazily: the Camel test support calls configureContext() from its constructor
    private String schema;
    private String topicPrefix;
    private String clientId;
    private int httpPort;
    private HttpClient http;
    private MqttClient device;
    private Map<Role, String> tokens;
    private java.nio.file.Path tokensFile;

    private synchronized void initIds() {
        if (schema == null) {
            String name = getClass().getSimpleName().toLowerCase(Locale.ROOT);
            String run = UUID.randomUUID().toString().substring(0, 8);
            // unique per run: two runs of the same class (two checkouts, one database) never collide
            schema = "t_" + name + "_" + run;
            topicPrefix = "fleettest-" + name + "-" + run;
            clientId = "fleet-" + name + "-" + run;
            httpPort = TestServices.freePort();
            http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            tokensFile = writeTestTokens();
        }
    }

    /**
     * Known API tokens of this class, one per role (names {@code test-viewer}, {@code test-operator},
     * {@code test-admin}), in a tokens file the service reads as {@code API_TOKENS_FILE}.
     */
    private java.nio.file.Path writeTestTokens() {
        tokens = new java.util.EnumMap<>(Role.class);
        StringBuilder lines = new StringBuilder("# test tokens of one test class\n");
        for (Role role : Role.values()) {
            String token = ApiToken.newToken();
            tokens.put(role, token);
            lines.append(ApiToken.configLine(tokenName(role), role, token)).append('\n');
        }
        try {
            java.nio.file.Path file = java.nio.file.Files.createTempFile("fleet-test-tokens", ".txt");
            java.nio.file.Files.writeString(file, lines);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the name of this class's test token with {@code role}: {@code test-<role>} (its {@code requested_by}) */
    protected static String tokenName(Role role) {
        return "test-" + role.id();
    }

    /** @return the plaintext of this class's test token with {@code role} */
    protected String token(Role role) {
        initIds();
        return tokens.get(role);
    }

    /** @return the tokens file this class's service reads ({@code fleet.api.tokens-file}) */
    protected java.nio.file.Path tokensFile() {
        initIds();
        return tokensFile;
    }

    /** @return this class's database schema */
    protected String schema() {
        initIds();
        return schema;
    }

    /** @return this class's MQTT topic prefix (unique per run) */
    protected String topicPrefix() {
        initIds();
        return topicPrefix;
    }

    /** @return the service's MQTT client id in this class */
    protected String clientId() {
        initIds();
        return clientId;
    }

    /** @return the service's HTTP port in this class */
    protected int httpPort() {
        initIds();
        return httpPort;
    }

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.withRoutesIncludePattern("file:routes/*.yaml");
    }

    @Override
    public void configureContext(CamelContextConfiguration camelContextConfiguration) {
        super.configureContext(camelContextConfiguration);
        shutDownLeftoverQuartzSchedulers();
        initIds();
        dropSchema();
        Properties p = new Properties();
        p.setProperty("fleet.db.url", databaseUrl());
        p.setProperty("fleet.db.schema", schema);
        // the ingest worker, the snapshot writer, the sweeps and REST, plus tests that hold locks and
        // query the service's pool while two of its connections wait
        p.setProperty("fleet.db.pool-size", "8");
        p.setProperty("fleet.mqtt.url", mqttUrl());
        p.setProperty("fleet.mqtt.client-id", clientId);
        p.setProperty("fleet.mqtt.topic-prefix", topicPrefix);
        p.setProperty("fleet.mqtt.session-expiry-s", "600");
        p.setProperty("camel.server.port", String.valueOf(httpPort));
        p.setProperty("camel.management.port", String.valueOf(httpPort));
        p.setProperty("camel.server.host", "127.0.0.1");
        p.setProperty("fleet.liveness.sweep-interval-ms", "300");
        p.setProperty("fleet.api.tokens-file", tokensFile.toString());
        // tests create many commands quickly; RateLimitTest sets its own limits
        p.setProperty("fleet.api.command-rate.per-token", "100000");
        p.setProperty("fleet.api.command-rate.per-client", "100000");
        p.putAll(extraProperties());
        camelContextConfiguration.withUseOverridePropertiesWithPropertiesComponent(p);
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.putAll(extraEnvironment());
        FleetConfiguration.environment = env;
    }

    /** @return environment variables the service sees in this class besides the real ones (power target secrets) */
    protected Map<String, String> extraEnvironment() {
        return Map.of();
    }

    /**
     * Quartz keeps its schedulers per JVM, by name ({@code DefaultQuartzScheduler-infoscreen-fleet}).
     * The scheduler of an earlier test class outlives its Camel context (camel-quartz does not shut
     * it down while a job of a never-started route, such as {@code sweep-recovery} with recovery
     * off, is registered), and its triggers then fire with the earlier class's endpoint URIs: a
     * sweep whose interval differs in this class never runs. Each class starts a fresh scheduler.
     */
    private static void shutDownLeftoverQuartzSchedulers() {
        for (org.quartz.Scheduler scheduler : org.quartz.impl.SchedulerRepository.getInstance().lookupAll()) {
            try {
                scheduler.shutdown(false);
            } catch (org.quartz.SchedulerException e) {
                throw new IllegalStateException("cannot shut down the Quartz scheduler left by an earlier test class", e);
            }
        }
    }

    /** @return the broker this class's service and test devices use; a class may start its own */
    protected String mqttUrl() {
        return TestServices.mqttUrl();
    }

    /** @return JDBC URL of the database this class's service uses (user postgres); a class may start its own */
    protected String databaseUrl() {
        return TestServices.databaseUrl();
    }

    // no initializer: the Camel test support calls configureContext() (and so mqttUrl()/databaseUrl()) from its constructor
    private List<AutoCloseable> closeAfterClass;

    /**
     * Closes {@code resource} (a broker or database process the class started) after the class,
     * once the context is stopped and the schema dropped; resources close in reverse order.
     *
     * @return {@code resource}
     */
    protected synchronized <T extends AutoCloseable> T closeAfterClass(T resource) {
        if (closeAfterClass == null) {
            closeAfterClass = new ArrayList<>();
        }
        closeAfterClass.add(0, resource);
        return resource;
    }

    /** @return properties a test class overrides (thresholds, limits) */
    protected Properties extraProperties() {
        return new Properties();
    }

    @AfterAll
    void closeDevice() throws MqttException {
        if (device != null && device.isConnected()) {
            device.disconnect();
            device.close();
        }
    }

    /** Stops the context and drops this class's schema, so test runs leave no schemas behind. */
    @AfterAll
    void dropSchemaAfterClass() throws Exception {
        try {
            if (context != null) {
                context.stop();
            }
            dropSchema();
        } finally {
            if (closeAfterClass != null) {
                for (AutoCloseable resource : closeAfterClass) {
                    resource.close();
                }
            }
        }
    }

    // ---- MQTT ---------------------------------------------------------------------------

    /** @return the broker URL of the test displays ({@link #device()}); the service's one unless a class says otherwise */
    protected String deviceUrl() {
        return mqttUrl();
    }

    /**
     * @return connection options of the test displays ({@link #device()}): clean start, automatic
     *         reconnect, no credentials; a class against a broker with authentication adds them
     */
    protected MqttConnectionOptions deviceConnectionOptions() {
        MqttConnectionOptions o = new MqttConnectionOptions();
        o.setCleanStart(true);
        o.setAutomaticReconnect(true);
        return o;
    }

    /** @return a connected MQTT 5 client acting as the displays (clean session) */
    protected synchronized MqttClient device() {
        try {
            if (device == null) {
                device = new MqttClient(deviceUrl(), "dev-" + clientId, new MemoryPersistence());
                device.connect(deviceConnectionOptions());
            }
            return device;
        } catch (MqttException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Publishes {@code payload} at QoS 1 to {@code <prefix>/<uuid>/<kind>} and waits for the PUBACK. */
    protected void publish(UUID uuid, String kind, String payload) {
        publishRaw(topicPrefix() + "/" + uuid + "/" + kind, payload.getBytes(StandardCharsets.UTF_8), false);
    }

    /** Publishes raw bytes at QoS 1 to a full topic and waits for the PUBACK. */
    protected void publishRaw(String topic, byte[] payload, boolean retained) {
        MqttMessage m = new MqttMessage(payload);
        m.setQos(1);
        m.setRetained(retained);
        // Paho 1.2.5 frees its in-flight slot a moment after a blocking publish returns; a fast
        // loop of publishes can hit "too many publishes in progress" (not sent): try again
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .pollDelay(Duration.ZERO).until(() -> {
                    try {
                        device().publish(topic, m);
                        return true;
                    } catch (MqttException e) {
                        if (e.getReasonCode() == 32202) { // REASON_CODE_MAX_INFLIGHT
                            return false;
                        }
                        throw new IllegalStateException(e);
                    }
                });
    }

    // ---- HTTP ---------------------------------------------------------------------------

    /** Sends a request as admin (this class's admin token) and returns the response (body as text). */
    protected HttpResponse<String> http(String method, String path) {
        return request(method, path, null, token(Role.ADMIN), Map.of());
    }

    /**
     * POSTs a JSON body ({@code Content-Type: application/json}) as admin and returns the
     * response (body as text).
     */
    protected HttpResponse<String> httpPost(String path, String jsonBody) {
        return request("POST", path, jsonBody, token(Role.ADMIN), Map.of());
    }

    /** Sends a request with this class's token of {@code role}. */
    protected HttpResponse<String> httpAs(Role role, String method, String path) {
        return request(method, path, null, token(role), Map.of());
    }

    /** POSTs a JSON body with this class's token of {@code role}. */
    protected HttpResponse<String> httpPostAs(Role role, String path, String jsonBody) {
        return request("POST", path, jsonBody, token(role), Map.of());
    }

    /** Sends a request without an {@code Authorization} header. */
    protected HttpResponse<String> httpWithoutToken(String method, String path) {
        return request(method, path, null, null, Map.of());
    }

    /**
     * Sends a request.
     *
     * @param method  HTTP method
     * @param path    path and query
     * @param body    JSON body ({@code Content-Type: application/json}), or null for none
     * @param token   bearer token, or null for no {@code Authorization} header
     * @param headers further request headers
     * @return the response, body as text
     */
    protected HttpResponse<String> request(String method, String path, String body, String token, Map<String, String> headers) {
        try {
            initIds();
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort() + path))
                    .timeout(Duration.ofSeconds(10))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (body != null) {
                b.header("Content-Type", "application/json");
            }
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            headers.forEach(b::header);
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** PUTs a JSON body as admin and returns the response (body as text). */
    protected HttpResponse<String> httpPut(String path, String jsonBody) {
        return request("PUT", path, jsonBody, token(Role.ADMIN), Map.of());
    }

    /** GET {@code path}, assert nothing, parse the body as JSON. */
    protected JsonNode getJson(String path) {
        return json(http("GET", path).body());
    }

    protected static JsonNode json(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new IllegalStateException("not JSON: " + body, e);
        }
    }

    /** @return one check of {@code /observe/health} with its details */
    protected JsonNode healthCheck(String name) {
        HttpResponse<String> r = http("GET", "/observe/health?exposureLevel=full&data=true");
        JsonNode body = json(r.body());
        for (JsonNode c : body.path("checks")) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no health check " + name + " in " + r.body());
    }

    /**
     * @param name   Prometheus metric name, e.g. {@code fleet_mqtt_connection_failures_total}
     * @param labels labels the sample must have (others are ignored), as name, value, name, value...
     * @return the value of the first matching sample of {@code /observe/metrics}, or NaN when there is none
     */
    protected double metric(String name, String... labels) {
        for (String line : http("GET", "/observe/metrics").body().split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
                continue;
            }
            boolean all = true;
            for (int i = 0; i + 1 < labels.length; i += 2) {
                all &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (all) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    // ---- SQL ----------------------------------------------------------------------------

    /** @return the service's own connection pool */
    protected DataSource dataSource() {
        return context.getRegistry().lookupByNameAndType("dataSource", DataSource.class);
    }

    /** Runs a query in this class's schema and returns the rows (column → value). */
    protected List<Map<String, Object>> query(String sql, Object... args) {
        try (Connection c = dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            List<Map<String, Object>> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                        row.put(rs.getMetaData().getColumnLabel(i), rs.getObject(i));
                    }
                    rows.add(row);
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs an update in this class's schema. */
    protected int update(String sql, Object... args) {
        try (Connection c = dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            return ps.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the single value of a one-row, one-column query */
    protected Object scalar(String sql, Object... args) {
        List<Map<String, Object>> rows = query(sql, args);
        return rows.isEmpty() ? null : rows.get(0).values().iterator().next();
    }

    /** @return the number of events of a type for a client */
    protected long events(UUID uuid, String type) {
        return ((Number) scalar("SELECT count(*) FROM client_events WHERE client_uuid = ? AND type = ?", uuid, type)).longValue();
    }

    /** Asserts a JSON error answer: status, {@code {"error": code, "message": …}} and nothing else. */
    protected static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = json(r.body());
        assertThat(iterable(body.fieldNames())).containsExactlyInAnyOrder("error", "message");
        assertThat(body.path("error").asText()).isEqualTo(code);
        assertThat(body.path("message").asText()).isNotBlank();
    }

    /** @return the names of an iterator (e.g. a JSON object's field names) as a list */
    protected static List<String> iterable(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    // ---- commands (shared by the command and recovery tests) ---------------------------------

    protected String createdId(UUID client, String body) {
        HttpResponse<String> r = httpPost("/api/clients/" + client + "/commands", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r.body()).path("id").asText();
    }

    protected String status(String id) {
        return (String) scalar("SELECT status FROM client_commands WHERE id = ?", UUID.fromString(id));
    }

    protected Map<String, Object> commandRow(String id) {
        return query("SELECT * FROM client_commands WHERE id = ?", UUID.fromString(id)).get(0);
    }

    protected long commandEvents(String id, String type) {
        return ((Number) scalar("SELECT count(*) FROM client_events WHERE command_id = ? AND type = ?", UUID.fromString(id), type)).longValue();
    }

    protected List<String> commandEventTypes(String id) {
        return query("SELECT type FROM client_events WHERE command_id = ? ORDER BY id", UUID.fromString(id))
                .stream().map(r -> (String) r.get("type")).toList();
    }

    /** @return a connection outside the service's pool, in this class's schema, in a transaction */
    protected Connection lockConnection() throws SQLException {
        Connection c = DriverManager.getConnection(databaseUrl(), "postgres", null);
        try (Statement s = c.createStatement()) {
            s.execute("SET search_path TO " + schema());
        }
        c.setAutoCommit(false);
        return c;
    }

    /** @return the number of sessions waiting, directly or behind another waiter, for a lock the session {@code lock} holds */
    protected long lockWaiters(Connection lock) throws SQLException {
        return lockWaiters(lock, "");
    }

    /**
     * @return the number of sessions running a statement that contains {@code queryText} and waiting, directly or
     * behind another waiter, for a lock the session {@code lock} holds (the ingest's snapshot upserts of a display
     * that keeps reporting wait for a locked client row too, and are not the statements a test counts)
     */
    protected long lockWaiters(Connection lock, String queryText) throws SQLException {
        int pid;
        try (PreparedStatement ps = lock.prepareStatement("SELECT pg_backend_pid()"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            pid = rs.getInt(1);
        }
        return ((Number) scalar("""
                WITH RECURSIVE waiting (pid) AS (
                    SELECT pid FROM pg_stat_activity WHERE CAST(? AS integer) = ANY (pg_blocking_pids(pid))
                    UNION
                    SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY (pg_blocking_pids(a.pid)))
                SELECT count(*) FROM waiting w JOIN pg_stat_activity a ON a.pid = w.pid
                 WHERE strpos(a.query, CAST(? AS text)) > 0""", pid, queryText)).longValue();
    }

    private void dropSchema() {
        try (Connection c = DriverManager.getConnection(databaseUrl(), "postgres", null);
             Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reset schema " + schema, e);
        }
    }
}
