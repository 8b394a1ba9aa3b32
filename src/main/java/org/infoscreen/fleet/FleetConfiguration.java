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

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.infoscreen.fleet.mqtt.MqttConnectionHealthCheck;
import org.infoscreen.fleet.mqtt.MqttConnectionMonitor;
import org.infoscreen.fleet.mqtt.MqttSecurity;
import org.infoscreen.fleet.mqtt.SessionSafePahoMqtt5Component;
import org.infoscreen.fleet.tls.CertificateExpiryHealthCheck;
import org.infoscreen.fleet.tls.CertificateExpiryMonitor;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;

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
    @PropertyInject(value = "fleet.db.connection-timeout-ms", defaultValue = "2000")
    long dbConnectionTimeoutMs;
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
    @PropertyInject(value = "fleet.mqtt.user", defaultValue = "")
    String mqttUser;
    @PropertyInject(value = "fleet.mqtt.password-file", defaultValue = "")
    String mqttPasswordFile;
    @PropertyInject(value = "fleet.mqtt.tls.enabled", defaultValue = "false")
    boolean mqttTlsEnabled;
    @PropertyInject(value = "fleet.mqtt.tls.ca-cert", defaultValue = "")
    String mqttTlsCaCert;
    @PropertyInject(value = "fleet.mqtt.tls.certfile", defaultValue = "")
    String mqttTlsCertFile;
    @PropertyInject(value = "fleet.mqtt.tls.keyfile", defaultValue = "")
    String mqttTlsKeyFile;
    @PropertyInject(value = "fleet.mqtt.tls.insecure", defaultValue = "false")
    boolean mqttTlsInsecure;
    @PropertyInject(value = "fleet.mqtt.tls.expiry-warn-days", defaultValue = "30")
    int tlsExpiryWarnDays;
    @PropertyInject(value = "fleet.mqtt.topic-prefix", defaultValue = "infoscreen")
    String topicPrefix;
    @PropertyInject(value = "fleet.instance-id", defaultValue = "")
    String instanceId;
    @PropertyInject(value = "fleet.mqtt.client-id", defaultValue = "")
    String mqttClientId;
    @PropertyInject(value = "fleet.mqtt.shared-group", defaultValue = "")
    String mqttSharedGroup;
    @PropertyInject(value = "fleet.quartz.scheduler-name", defaultValue = "infoscreen-fleet")
    String quartzSchedulerName;
    @PropertyInject(value = "fleet.quartz.thread-count", defaultValue = "3")
    int quartzThreadCount;
    @PropertyInject(value = "fleet.quartz.checkin-interval-ms", defaultValue = "7500")
    long quartzCheckinIntervalMs;
    @PropertyInject(value = "fleet.quartz.misfire-threshold-ms", defaultValue = "1000")
    long quartzMisfireThresholdMs;
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
    @PropertyInject(value = "fleet.dashboard.refresh-interval-s", defaultValue = "15")
    int dashboardRefreshIntervalS;
    @PropertyInject(value = "fleet.recovery.stale-min-age-s", defaultValue = "120")
    int recoveryStaleMinAgeS;
    @PropertyInject(value = "fleet.power.kamelet-location", defaultValue = "file:routes/kamelets,classpath:routes/kamelets")
    String powerKameletLocation;
    @PropertyInject(value = "fleet.power.off-s", defaultValue = "10")
    int powerOffS;
    @PropertyInject(value = "fleet.power.lock-wait-s", defaultValue = "300")
    int powerLockWaitS;
    @PropertyInject(value = "fleet.power.http-connect-timeout-ms", defaultValue = "3000")
    long powerHttpConnectTimeoutMs;
    @PropertyInject(value = "fleet.power.http-timeout-ms", defaultValue = "10000")
    long powerHttpTimeoutMs;
    @PropertyInject(value = "fleet.power.lock-lease-s", defaultValue = "180")
    long powerLockLeaseS;
    @PropertyInject(value = "fleet.power.retry-attempts", defaultValue = "3")
    int powerRetryAttempts;
    @PropertyInject(value = "fleet.power.retry-delay-ms", defaultValue = "1000")
    long powerRetryDelayMs;
    @PropertyInject(value = "fleet.power.verify-interval-ms", defaultValue = "1000")
    long powerVerifyIntervalMs;
    @PropertyInject(value = "fleet.health.max-silence-s", defaultValue = "30")
    int healthMaxSilenceS;
    @PropertyInject(value = "fleet.health.resubscribe-after-s", defaultValue = "60")
    int healthResubscribeAfterS;
    @PropertyInject(value = "fleet.ingest.flush-ms", defaultValue = "50")
    long ingestFlushMs;
    @PropertyInject(value = "fleet.ingest.batch-size", defaultValue = "500")
    int ingestBatchSize;
    @PropertyInject(value = "fleet.ingest.retry-max-delay-ms", defaultValue = "5000")
    long ingestRetryMaxDelayMs;
    @PropertyInject(value = "camel.server.host", defaultValue = "0.0.0.0")
    String httpHost;
    @PropertyInject(value = "camel.server.port", defaultValue = "8080")
    int httpPort;

    /**
     * The environment secrets are read from ({@code System.getenv()}); tests add the variables a
     * power target references, since a running JVM's environment cannot be changed.
     */
    static volatile java.util.Map<String, String> environment = System.getenv();

    @Override
    public void configure(CamelContext context) throws Exception {
        Secrets secrets = new Secrets(environment);
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
        HikariDataSource quartzDataSource = quartzDataSource(jdbcUrl, user, password);
        org.infoscreen.fleet.cluster.QuartzCluster.install(context, quartzDataSource, quartzDataSource::close,
                quartzSchedulerName, quartzThreadCount, quartzCheckinIntervalMs, quartzMisfireThresholdMs);
        configureInstance(properties);
        configureApiSecurity(context, secrets, dataSource);

        String brokerUrl = mqttUrl;
        boolean tls = mqttTlsEnabled || (brokerUrl != null && MqttSecurity.tlsScheme(brokerUrl));
        if (brokerUrl == null || brokerUrl.isBlank()) {
            if (tls) {
                throw new IllegalStateException("MQTT_TLS_ENABLED=true needs MQTT_URL: the embedded development broker has no TLS listener");
            }
            EmbeddedBroker broker = EmbeddedBroker.start(Path.of(embeddedMqttDir), embeddedMqttBind, embeddedMqttPort);
            context.addService(broker, true, true);
            brokerUrl = broker.brokerUrl();
            LOG.info("MQTT mode: embedded broker; displays connect to mqtt://<this-host>:{} (topic prefix '{}')",
                    embeddedMqttPort, topicPrefix);
        } else {
            brokerUrl = MqttSecurity.brokerUrl(brokerUrl, tls);
            LOG.info("MQTT mode: external broker at {} (topic prefix '{}', {})", redactUrl(brokerUrl), topicPrefix,
                    !tls ? "no TLS" : mqttTlsCertFile.isBlank() ? "TLS" : "mutual TLS with a client certificate");
        }
        properties.addOverrideProperty("fleet.mqtt.broker-url", brokerUrl);
        properties.addOverrideProperty("fleet.mqtt.tls.active", String.valueOf(tls));
        MqttSecurity mqttSecurity = mqttSecurity(tls);
        ServiceClock clock = new ServiceClock();
        MeterRegistry meters = meterRegistry(context);
        MqttConnectionMonitor connectionMonitor = new MqttConnectionMonitor(meters, Clock.systemUTC());
        context.getRegistry().bind("mqttConnectionHealthCheck",
                new MqttConnectionHealthCheck(connectionMonitor, mqttSecurity, Clock.systemUTC()));
        context.getRegistry().bind("certificateMonitor", certificateMonitor(mqttSecurity, brokerUrl, meters));
        context.getRegistry().bind("certificateHealthCheck",
                new CertificateExpiryHealthCheck(context.getRegistry().lookupByNameAndType("certificateMonitor", CertificateExpiryMonitor.class)));

        var http = context.getComponent("platform-http", org.apache.camel.component.platform.http.PlatformHttpComponent.class);
        http.setHeaderFilterStrategy(new org.infoscreen.fleet.rest.ResponseHeaderAllowList(http.getHeaderFilterStrategy()));

        // standard paho-mqtt5 URIs, with a consumer that keeps the messages of a resumed session and
        // connections that apply user, password and TLS afresh to every (re)connect
        SessionSafePahoMqtt5Component mqtt = new SessionSafePahoMqtt5Component();
        mqtt.setSecurity(mqttSecurity);
        mqtt.setConnectionMonitor(connectionMonitor);
        mqtt.setRetryMaxDelayMs(ingestRetryMaxDelayMs);
        context.addComponent("paho-mqtt5", mqtt);

        ObjectMapper mapper = Json.mapper();
        context.getRegistry().bind("jsonMapper", mapper);
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
        context.getRegistry().bind("eventLog", new org.infoscreen.fleet.logging.EventLog(newestEventId(dataSource)));
        context.getCamelContextExtension().addLogListener(new org.infoscreen.fleet.logging.RouteLogContext());
        context.getManagementStrategy().addEventNotifier(new org.apache.camel.support.SimpleEventNotifierSupport() {
            @Override
            public void notify(org.apache.camel.spi.CamelEvent event) {
                if (event instanceof org.apache.camel.spi.CamelEvent.ExchangeCompletedEvent
                        || event instanceof org.apache.camel.spi.CamelEvent.ExchangeFailedEvent) {
                    org.infoscreen.fleet.logging.RouteLogContext.clear();
                }
            }
        });
        context.getRegistry().bind("deviceMessageParser", new DeviceMessageParser(mapper, topicPrefix, maxPayloadBytes));
        context.getRegistry().bind("quarantine", new Quarantine(quarantinePayloadBytes));
        // heartbeat and health: coalesced per client, one multi-row upsert per batch (issue #8)
        var snapshotIngest = new org.infoscreen.fleet.ingest.SnapshotIngest(context, mapper, meters, ingestBatchSize,
                java.time.Duration.ofMillis(ingestFlushMs), java.time.Duration.ofMillis(ingestRetryMaxDelayMs));
        context.getRegistry().bind("snapshotIngest", snapshotIngest);
        snapshotIngest.start();
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() throws Exception {
                snapshotIngest.stop();
            }
        }, true, true);
        var mqttMessages = new org.infoscreen.fleet.ingest.MqttMessages();
        context.getRegistry().bind("mqttMessages", mqttMessages);
        context.getRegistry().bind("ingestEnvelope", new org.infoscreen.fleet.ingest.IngestEnvelope(clock, mqttMessages,
                context.getRegistry().lookupByNameAndType("deviceMessageParser", DeviceMessageParser.class)));
        context.getRegistry().bind("apiRequests", new ApiRequests(mapper));
        context.getRegistry().bind("jsonViews", new JsonViews(mapper));
        context.getRegistry().bind("commandRequests",
                new org.infoscreen.fleet.commands.CommandRequests(mapper, commandTtlS, commandMaxTtlS, commandLockoutS));
        context.getRegistry().bind("recoveryPolicy", new org.infoscreen.fleet.recovery.RecoveryPolicy(
                mapper, recoveryBudgetAttempts, recoveryBackoffS, recoveryCommandTtlS, commandLockoutS, recoveryStaleMinAgeS));
        configurePower(context, mapper, secrets);
        HikariDataSource healthDataSource = healthDataSource(jdbcUrl, user, password);
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                healthDataSource.close();
            }
        }, true, true);
        bindHealthChecks(context, dataSource, healthDataSource);
        context.getRegistry().bind("recoveryHealthCheck",
                new org.infoscreen.fleet.recovery.RecoveryCircuitBreakerHealthCheck(healthDataSource, recoveryEnabled));
        if (recoveryEnabled) {
            LOG.info("Crash auto-recovery is ON (CRASH_RECOVERY_ENABLED=true)");
        }
        context.getRegistry().bind("dashboardAssets", new org.infoscreen.fleet.dashboard.DashboardAssets(dashboardRefreshIntervalS));
        context.getRegistry().bind("commandMessages", new org.infoscreen.fleet.commands.CommandMessages(mapper, topicPrefix));
    }

    /**
     * This instance's identity among several (docs/scaling.md): {@code fleet.instance-id} (the host
     * name unless {@code FLEET_INSTANCE_ID} is set), the MQTT client id ({@code MQTT_CLIENT_ID} or
     * {@code infoscreen-fleet-<instance id>}) and the ingest subscription
     * ({@code fleet.mqtt.ingest-subscription}: {@code $share/<MQTT_SHARED_GROUP>/<prefix>/#}, or
     * {@code <prefix>/#} with an empty group).
     */
    private void configureInstance(PropertiesComponent properties) {
        String host;
        try {
            // a container's host name in Docker and Kubernetes
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = null;
        }
        String instance = org.infoscreen.fleet.cluster.ClusterSettings.instanceId(instanceId, host);
        String clientId = org.infoscreen.fleet.cluster.ClusterSettings.clientId(mqttClientId, instance);
        String subscription = org.infoscreen.fleet.cluster.ClusterSettings.ingestSubscription(topicPrefix, mqttSharedGroup);
        properties.addOverrideProperty("fleet.instance-id", instance);
        properties.addOverrideProperty("fleet.mqtt.client-id", clientId);
        properties.addOverrideProperty("fleet.mqtt.ingest-subscription", subscription);
        LOG.info("Instance '{}': MQTT client id {}, ingest subscription {}", instance, clientId, subscription);
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
     * User name, password source and TLS files of the service's MQTT clients. {@code MQTT_PASSWORD}
     * comes from the environment; otherwise the file named by {@code MQTT_PASSWORD_FILE} is read
     * at every connection attempt (rotation). Logs one loud WARN when host name verification is off.
     */
    private MqttSecurity mqttSecurity(boolean tls) {
        Map<String, String> source = new HashMap<>();
        String direct = System.getenv("MQTT_PASSWORD");
        if (direct != null) {
            source.put("MQTT_PASSWORD", direct);
        }
        source.put("MQTT_PASSWORD_FILE", mqttPasswordFile);
        Secrets passwords = new Secrets(source);
        MqttSecurity security = new MqttSecurity(mqttUser, () -> passwords.get("MQTT_PASSWORD"), tls,
                path(mqttTlsCaCert), path(mqttTlsCertFile), path(mqttTlsKeyFile), mqttTlsInsecure);
        security.validate();
        if (!tls && (security.caCert() != null || security.certFile() != null)) {
            LOG.warn("MQTT_TLS_CA_CERT / MQTT_TLS_CERTFILE are set but TLS is off (MQTT_TLS_ENABLED=false): they are not used");
        }
        if (security.insecure()) {
            LOG.warn("!!! MQTT_TLS_INSECURE=true: the broker's host name is NOT verified against its certificate. Any "
                    + "holder of a certificate from the trusted CA can pose as the broker. For diagnosis only, never in production !!!");
        }
        if (tls && security.caCert() == null) {
            LOG.info("MQTT TLS: no MQTT_TLS_CA_CERT, the broker certificate is validated against the JVM's default trust store");
        }
        return security;
    }

    private CertificateExpiryMonitor certificateMonitor(MqttSecurity security, String brokerUrl, MeterRegistry meters) {
        String host = null;
        int port = 8883;
        if (security.tls()) {
            URI uri = URI.create(brokerUrl);
            host = uri.getHost();
            port = uri.getPort() > 0 ? uri.getPort() : 8883;
        }
        return new CertificateExpiryMonitor(security.caCert(), security.certFile(), security.keyFile(), host, port,
                tlsExpiryWarnDays, meters, Clock.systemUTC());
    }

    /**
     * The Prometheus registry behind {@code /observe/metrics}: camel-micrometer-prometheus uses the
     * bean {@code metricsRegistry} when one is bound, so the meters registered here are scraped too.
     */
    private static MeterRegistry meterRegistry(CamelContext context) {
        PrometheusMeterRegistry registry = context.getRegistry().lookupByNameAndType("metricsRegistry", PrometheusMeterRegistry.class);
        if (registry == null) {
            registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            context.getRegistry().bind("metricsRegistry", registry);
        }
        return registry;
    }

    private static Path path(String value) {
        return value == null || value.isBlank() ? null : Path.of(value);
    }

    /**
     * Power cycles: the driver catalogue (the kamelet folder), the beans the shared power route and
     * the driver kamelets call, and camel-http (Apache HttpClient 5) for the drivers: timeouts, and
     * credentials for a device's Basic/Digest challenge taken from the exchange, never from a URI.
     */
    private void configurePower(CamelContext context, ObjectMapper mapper, Secrets secrets) {
        // the lease is renewed at every step: it must outlast the longest step, or the resume sweep
        // takes over (switches on) an operation that is still running
        long longest = org.infoscreen.fleet.power.PowerOperations.longestStepMillis(powerRetryAttempts, powerRetryDelayMs,
                powerHttpConnectTimeoutMs, powerHttpTimeoutMs, powerVerifyIntervalMs);
        long minLeaseS = longest / 1000 + 30;
        if (powerLockLeaseS * 1000 <= longest) {
            LOG.warn("POWER_LOCK_LEASE_S={} does not outlast the longest power step ({} s: POWER_RETRY_*, "
                    + "POWER_HTTP_*TIMEOUT_MS, POWER_VERIFY_INTERVAL_MS); using {} s", powerLockLeaseS, (longest + 999) / 1000, minLeaseS);
            powerLockLeaseS = minLeaseS;
            context.getPropertiesComponent().addOverrideProperty("fleet.power.lock-lease-s", String.valueOf(minLeaseS));
        }
        var drivers = new org.infoscreen.fleet.power.PowerDrivers(mapper, powerKameletLocation);
        context.getRegistry().bind("powerDrivers", drivers);
        context.getRegistry().bind("powerTargets", new org.infoscreen.fleet.power.PowerTargets(mapper, drivers, secrets));
        context.getRegistry().bind("powerOperations",
                new org.infoscreen.fleet.power.PowerOperations(mapper, drivers, secrets, powerOffS, powerLockWaitS));
        var powerHttp = new org.infoscreen.fleet.power.PowerHttp();
        context.getRegistry().bind("powerHttp", powerHttp);
        context.getRegistry().bind("powerJson", new org.infoscreen.fleet.power.PowerJson(mapper));
        context.getRegistry().bind("wakeOnLan", new org.infoscreen.fleet.power.WakeOnLan());
        context.getRegistry().bind("powerInsecureTls", org.infoscreen.fleet.power.PowerTls.trustAll());
        context.getRegistry().bind("powerNoHostnameCheck", org.apache.hc.client5.http.ssl.NoopHostnameVerifier.INSTANCE);
        for (String scheme : new String[] {"http", "https"}) {
            var http = context.getComponent(scheme, org.apache.camel.component.http.HttpComponent.class);
            http.setHttpClientConfigurer(powerHttp.clientConfigurer());
            http.setHttpActivityListener(powerHttp.activityListener());
            http.setConnectTimeout(powerHttpConnectTimeoutMs);
            http.setConnectionRequestTimeout(powerHttpConnectTimeoutMs);
            http.setResponseTimeout(powerHttpTimeoutMs);
            http.setSoTimeout(powerHttpTimeoutMs);
            // a device's answer to a switch is never followed elsewhere; no cookies between power targets
            http.setRedirectHandlingDisabled(true);
            http.setCookieManagementDisabled(true);
            http.setUserAgent("infoscreen-fleet");
        }
    }

    /**
     * Readiness checks (served at {@code /observe/health/ready}): start-up of every route (REST
     * included), database, MQTT ingest consumer (connection, subscription, age of the last message
     * including the self-probe). Camel picks up
     * health checks bound in the registry. (TLS certificates: CertificateExpiryMonitor.)
     */
    private void bindHealthChecks(CamelContext context, HikariDataSource dataSource, HikariDataSource healthDataSource) {
        var monitor = new org.infoscreen.fleet.health.MqttIngestMonitor(topicPrefix,
                java.time.Duration.ofSeconds(healthMaxSilenceS), java.time.Duration.ofSeconds(healthResubscribeAfterS));
        context.getRegistry().bind("mqttIngestMonitor", monitor);
        context.getRegistry().bind("mqttIngestHealthCheck", new org.infoscreen.fleet.health.MqttIngestHealthCheck(monitor));
        context.getRegistry().bind("startupHealthCheck", new org.infoscreen.fleet.health.StartupHealthCheck(context));
        context.getRegistry().bind("databaseHealthCheck", new org.infoscreen.fleet.health.DatabaseHealthCheck(dataSource, healthDataSource));
        context.getRegistry().bind("fleetMetrics",
                new org.infoscreen.fleet.metrics.FleetMetrics(meterRegistry(context), monitor, recoveryEnabled));
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
        // the longest wait for a pooled connection: a database that is down or a pool exhausted by
        // slow queries fails a REST request (503) and an ingest attempt (retried) within seconds, not 30 s
        config.setConnectionTimeout(dbConnectionTimeoutMs);
        config.setSchema(dbSchema);
        // fail fast at start-up when the database is unreachable: the log says why
        config.setInitializationFailTimeout(30_000);
        return new HikariDataSource(config);
    }

    /**
     * A small pool of its own for the health checks: with the database down, the service's pool
     * makes a caller wait its whole connection timeout (5 s) per check; health must answer within
     * a few seconds, and a busy service pool must not make health time out.
     */
    private HikariDataSource healthDataSource(String jdbcUrl, String user, String password) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("fleet-db-health");
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(2);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(1_500);
        config.setValidationTimeout(1_000);
        config.setSchema(dbSchema);
        config.setInitializationFailTimeout(-1);
        config.addDataSourceProperty("connectTimeout", "2");
        config.addDataSourceProperty("socketTimeout", "5");
        return new HikariDataSource(config);
    }

    /**
     * Quartz's own small pool (scheduler, misfire and cluster threads plus the workers finishing a
     * sweep): the clustered job store never waits behind ingest or REST for a connection.
     */
    private HikariDataSource quartzDataSource(String jdbcUrl, String user, String password) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("fleet-db-quartz");
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(quartzThreadCount + 3);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(dbConnectionTimeoutMs);
        config.setSchema(dbSchema);
        config.setInitializationFailTimeout(-1);
        return new HikariDataSource(config);
    }

    /** @return the id of the newest client event now (the event log starts after it), 0 for none */
    private static long newestEventId(HikariDataSource dataSource) {
        try (var c = dataSource.getConnection();
             var rs = c.createStatement().executeQuery("SELECT COALESCE(max(id), 0) FROM client_events")) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot read client_events at start-up: " + e.getMessage(), e);
        }
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
