package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.PropertyInject;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.flywaydb.core.Flyway;
import org.infoscreen.fleet.ingest.DeviceMessageParser;
import org.infoscreen.fleet.ingest.Quarantine;
import org.infoscreen.fleet.rest.ApiRequests;
import org.infoscreen.fleet.rest.JsonViews;
import org.infoscreen.fleet.support.EmbeddedBroker;
import org.infoscreen.fleet.support.EmbeddedDatabase;
import org.infoscreen.fleet.support.Json;
import org.infoscreen.fleet.support.Secrets;
import org.infoscreen.fleet.support.ServiceClock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * Binds everything the routes use: the PostgreSQL pool (migrated by Flyway before any route
 * starts), the MQTT broker URL, and the beans the YAML routes call.
 *
 * <p>Development mode: with no {@code DATABASE_URL} an embedded PostgreSQL is started, with no
 * {@code MQTT_URL} an embedded MQTT 5 broker. Both say so in the log.
 */
public class FleetConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(FleetConfiguration.class);

    @PropertyInject(value = "fleet.db.url", defaultValue = "")
    String dbUrl;
    @PropertyInject(value = "fleet.db.user", defaultValue = "postgres")
    String dbUser;
    @PropertyInject(value = "fleet.db.schema", defaultValue = "public")
    String dbSchema;
    @PropertyInject(value = "fleet.db.pool-size", defaultValue = "10")
    int dbPoolSize;
    @PropertyInject(value = "fleet.embedded.db.data-dir", defaultValue = "data/postgres")
    String embeddedDbDir;
    @PropertyInject(value = "fleet.embedded.db.port", defaultValue = "0")
    int embeddedDbPort;
    @PropertyInject(value = "fleet.mqtt.url", defaultValue = "")
    String mqttUrl;
    @PropertyInject(value = "fleet.embedded.mqtt.port", defaultValue = "1884")
    int embeddedMqttPort;
    @PropertyInject(value = "fleet.embedded.mqtt.bind", defaultValue = "0.0.0.0")
    String embeddedMqttBind;
    @PropertyInject(value = "fleet.embedded.mqtt.data-dir", defaultValue = "data/mqtt")
    String embeddedMqttDir;
    @PropertyInject(value = "fleet.mqtt.topic-prefix", defaultValue = "infoscreen")
    String topicPrefix;
    @PropertyInject(value = "fleet.mqtt.max-payload-bytes", defaultValue = "65536")
    int maxPayloadBytes;
    @PropertyInject(value = "fleet.quarantine.payload-bytes", defaultValue = "2048")
    int quarantinePayloadBytes;
    @PropertyInject(value = "fleet.commands.default-ttl-s", defaultValue = "300")
    int commandTtlS;
    @PropertyInject(value = "fleet.commands.max-ttl-s", defaultValue = "86400")
    int commandMaxTtlS;
    @PropertyInject(value = "fleet.commands.lockout-s", defaultValue = "900")
    int commandLockoutS;
    @PropertyInject(value = "fleet.recovery.enabled", defaultValue = "false")
    boolean recoveryEnabled;
    @PropertyInject(value = "fleet.recovery.budget-attempts", defaultValue = "3")
    int recoveryBudgetAttempts;
    @PropertyInject(value = "fleet.recovery.backoff-s", defaultValue = "60")
    int recoveryBackoffS;
    @PropertyInject(value = "fleet.recovery.command-ttl-s", defaultValue = "300")
    int recoveryCommandTtlS;
    @PropertyInject(value = "fleet.api.auth-enabled", defaultValue = "true")
    boolean apiAuthEnabled;
    @PropertyInject(value = "fleet.api.tokens-file", defaultValue = "")
    String apiTokensFile;
    @PropertyInject(value = "fleet.api.bootstrap-token-file", defaultValue = "data/admin-token")
    String apiBootstrapTokenFile;
    @PropertyInject(value = "fleet.api.open-paths", defaultValue = "/,/index.html,/favicon.ico,/assets/*")
    String apiOpenPaths;
    @PropertyInject(value = "camel.server.max-body-size", defaultValue = "65536")
    long apiMaxBodyBytes;
    @PropertyInject(value = "fleet.api.command-rate.per-token", defaultValue = "60")
    int commandRatePerToken;
    @PropertyInject(value = "fleet.api.command-rate.per-client", defaultValue = "10")
    int commandRatePerClient;
    @PropertyInject(value = "fleet.api.command-rate.period-s", defaultValue = "60")
    int commandRatePeriodS;
    @PropertyInject(value = "camel.server.host", defaultValue = "0.0.0.0")
    String httpHost;
    @PropertyInject(value = "camel.server.port", defaultValue = "8080")
    int httpPort;

    @Override
    public void configure(CamelContext context) throws Exception {
        Secrets secrets = new Secrets(System.getenv());
        PropertiesComponent properties = context.getPropertiesComponent();
        requireFreeHttpPort();

        String jdbcUrl = dbUrl;
        String user = dbUser;
        String password = secrets.get("DATABASE_PASSWORD");
        if (jdbcUrl == null || jdbcUrl.isBlank()) {
            EmbeddedDatabase db = EmbeddedDatabase.start(Path.of(embeddedDbDir), embeddedDbPort);
            context.addService(db, true, true);
            jdbcUrl = db.jdbcUrl();
            user = "postgres";
            password = null;
            LOG.info("Database mode: embedded PostgreSQL ({}); set DATABASE_URL to use your own", jdbcUrl);
        } else {
            LOG.info("Database mode: external PostgreSQL at {}", redactUrl(jdbcUrl));
        }
        HikariDataSource dataSource = dataSource(jdbcUrl, user, password);
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                dataSource.close();
            }
        }, true, true);
        migrate(dataSource);
        context.getRegistry().bind("dataSource", dataSource);
        configureApiSecurity(context, secrets, dataSource);

        String brokerUrl = mqttUrl;
        if (brokerUrl == null || brokerUrl.isBlank()) {
            EmbeddedBroker broker = EmbeddedBroker.start(Path.of(embeddedMqttDir), embeddedMqttBind, embeddedMqttPort);
            context.addService(broker, true, true);
            brokerUrl = broker.brokerUrl();
            LOG.info("MQTT mode: embedded broker; displays connect to mqtt://<this-host>:{} (topic prefix '{}')",
                    embeddedMqttPort, topicPrefix);
        } else {
            LOG.info("MQTT mode: external broker at {} (topic prefix '{}')", redactUrl(brokerUrl), topicPrefix);
        }
        properties.addOverrideProperty("fleet.mqtt.broker-url", brokerUrl);
        String mqttPassword = secrets.get("MQTT_PASSWORD");
        if (mqttPassword != null) {
            properties.addOverrideProperty("fleet.mqtt.password", mqttPassword);
        }

        var http = context.getComponent("platform-http", org.apache.camel.component.platform.http.PlatformHttpComponent.class);
        http.setHeaderFilterStrategy(new org.infoscreen.fleet.rest.ResponseHeaderAllowList(http.getHeaderFilterStrategy()));

        // standard paho-mqtt5 URIs, with a consumer that keeps the messages of a resumed session
        context.addComponent("paho-mqtt5", new org.infoscreen.fleet.mqtt.SessionSafePahoMqtt5Component());

        ObjectMapper mapper = Json.mapper();
        context.getRegistry().bind("jsonMapper", mapper);
        ServiceClock clock = new ServiceClock();
        context.getRegistry().bind("serviceClock", clock);
        context.getManagementStrategy().addEventNotifier(new org.apache.camel.support.SimpleEventNotifierSupport() {
            @Override
            public void notify(org.apache.camel.spi.CamelEvent event) {
                if (event instanceof org.apache.camel.spi.CamelEvent.RouteStartedEvent started
                        && "mqtt-ingest".equals(started.getRoute().getRouteId())) {
                    clock.ingestStarted();
                }
            }
        });
        context.getRegistry().bind("deviceMessageParser", new DeviceMessageParser(mapper, topicPrefix, maxPayloadBytes));
        context.getRegistry().bind("quarantine", new Quarantine(quarantinePayloadBytes));
        context.getRegistry().bind("mqttMessages", new org.infoscreen.fleet.ingest.MqttMessages());
        context.getRegistry().bind("apiRequests", new ApiRequests(mapper));
        context.getRegistry().bind("jsonViews", new JsonViews(mapper));
        context.getRegistry().bind("commandRequests",
                new org.infoscreen.fleet.commands.CommandRequests(mapper, commandTtlS, commandMaxTtlS, commandLockoutS));
        context.getRegistry().bind("recoveryPolicy", new org.infoscreen.fleet.recovery.RecoveryPolicy(
                mapper, recoveryBudgetAttempts, recoveryBackoffS, recoveryCommandTtlS, commandLockoutS));
        context.getRegistry().bind("recoveryHealthCheck",
                new org.infoscreen.fleet.recovery.RecoveryCircuitBreakerHealthCheck(dataSource, recoveryEnabled));
        if (recoveryEnabled) {
            LOG.info("Crash auto-recovery is ON (CRASH_RECOVERY_ENABLED=true)");
        }
        context.getRegistry().bind("commandMessages", new org.infoscreen.fleet.commands.CommandMessages(mapper, topicPrefix));
    }

    /** REST authentication, roles and limits (docs/api.md, "Authentication"). */
    private void configureApiSecurity(CamelContext context, Secrets secrets, HikariDataSource dataSource) {
        var openPaths = new org.infoscreen.fleet.security.OpenPaths(apiOpenPaths);
        var tokens = apiAuthEnabled
                ? org.infoscreen.fleet.security.ApiSecurity.tokens(secrets.getInline("API_TOKENS"), apiTokensFile, dataSource,
                        Path.of(apiBootstrapTokenFile))
                : null;
        var security = new org.infoscreen.fleet.security.ApiSecurity(apiAuthEnabled, tokens, openPaths, apiMaxBodyBytes);
        security.install(context);
        context.getRegistry().bind("apiSecurity", security);
        context.getRegistry().bind("apiAuthHealthCheck", new org.infoscreen.fleet.security.ApiAuthHealthCheck(apiAuthEnabled));
        context.getRegistry().bind("commandRateLimits", new org.infoscreen.fleet.security.CommandRateLimits(
                commandRatePerToken, commandRatePerClient, commandRatePeriodS));
    }

    /**
     * Camel only logs a BindException when the HTTP port is taken and starts without an API;
     * refuse to start instead, with a message that names the port.
     */
    private void requireFreeHttpPort() {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new java.net.InetSocketAddress(httpHost, httpPort));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("HTTP port " + httpHost + ":" + httpPort
                    + " is not available (" + e.getMessage() + "); set HTTP_PORT to a free port", e);
        }
    }

    private HikariDataSource dataSource(String jdbcUrl, String user, String password) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("fleet-db");
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(dbPoolSize);
        // a database that is down fails requests and ingest retries within seconds, not 30 s
        config.setConnectionTimeout(5_000);
        config.setSchema(dbSchema);
        // fail fast at start-up when the database is unreachable: the log says why
        config.setInitializationFailTimeout(30_000);
        return new HikariDataSource(config);
    }

    private void migrate(HikariDataSource dataSource) {
        Flyway flyway = Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .schemas(dbSchema)
                .defaultSchema(dbSchema)
                .load();
        var result = flyway.migrate();
        var current = flyway.info().current();
        LOG.info("Database schema '{}' at version {} ({} migration(s) applied now)",
                dbSchema, current == null ? "none" : current.getVersion(), result.migrationsExecuted);
    }

    /** Drops user info (user:password@) from a URL before it is logged. */
    static String redactUrl(String url) {
        return url.replaceAll("//[^/@]*@", "//***@").replaceAll("(?i)(password=)[^&]*", "$1***");
    }
}
