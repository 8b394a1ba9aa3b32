package org.infoscreen.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.layout.template.json.JsonTemplateLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Structured logs (docs/monitoring.md): one line per client event with {@code client_uuid} and
 * {@code command_id} as fields of the JSON layout ({@code src/main/resources/log-template.json}),
 * route log lines carry the client UUID too, and {@code LOG_FORMAT=json} switches the console
 * appender of {@code log4j2.xml}.
 */
class StructuredLoggingTest extends FleetTestSupport {

    private final StringWriter captured = new StringWriter();
    private WriterAppender appender;

    @BeforeAll
    void captureJsonLines() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        JsonTemplateLayout layout = JsonTemplateLayout.newBuilder().setConfiguration(config)
                .setEventTemplateUri("classpath:log-template.json").build();
        appender = WriterAppender.newBuilder().setName("test-json").setLayout(layout).setTarget(captured).build();
        appender.start();
        config.addAppender(appender);
        config.getRootLogger().addAppender(appender, null, null);
        ctx.updateLoggers();
    }

    @AfterAll
    void stopCapturing() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        ctx.getConfiguration().getRootLogger().removeAppender("test-json");
        ctx.updateLoggers();
        appender.stop();
    }

    private List<JsonNode> lines() {
        synchronized (captured) {
            return captured.toString().lines().map(FleetTestSupport::json).toList();
        }
    }

    @Test
    void everyClientEventIsOneJsonLineWithClientAndCommandFields() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"process_status\":\"crashed\"}");
        await().atMost(Duration.ofSeconds(20)).until(() -> events(uuid, "crash_detected") == 1);
        String id = createdId(uuid, "{\"action\":\"restart_app\",\"reason\":\"logging test\"}");

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            List<JsonNode> mine = lines().stream()
                    .filter(l -> "org.infoscreen.fleet.events".equals(l.path("logger").asText()))
                    .filter(l -> uuid.toString().equals(l.path("client_uuid").asText()))
                    .toList();
            assertThat(mine).extracting(l -> l.path("event_type").asText())
                    .contains("client_registered", "crash_detected", "command_queued");
            JsonNode queued = mine.stream().filter(l -> "command_queued".equals(l.path("event_type").asText())).findFirst().orElseThrow();
            assertThat(queued.path("command_id").asText()).isEqualTo(id);
            assertThat(queued.path("level").asText()).isEqualTo("INFO");
            assertThat(queued.path("ts").asText()).endsWith("Z");
            assertThat(queued.path("message").asText()).contains("command_queued", uuid.toString(), id);
            // each event exactly once
            assertThat(mine.stream().filter(l -> "crash_detected".equals(l.path("event_type").asText())).count()).isEqualTo(1);
        });
    }

    @Test
    void aRouteLogLineCarriesTheClientUuid() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "heartbeat", "not json");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(lines()).anySatisfy(l -> {
                    assertThat(l.path("message").asText()).startsWith("Rejected message on");
                    assertThat(l.path("client_uuid").asText()).isEqualTo(uuid.toString());
                    assertThat(l.path("camel.routeId").asText()).isNotBlank();
                }));
    }

    @Test
    void logFormatJsonSwitchesTheConsoleAppender() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        assertThat(rootAppenders(ctx)).contains("console-text");
        System.setProperty("LOG_FORMAT", "json");
        try {
            Configurator.reconfigure();
            assertThat(rootAppenders(ctx)).contains("console-json").doesNotContain("console-text");
            assertThat(ctx.getConfiguration().getAppender("console-json-unredacted").getLayout()).isInstanceOf(JsonTemplateLayout.class);
            // the JSON format redacts credentials like the text format does
            StringWriter out = new StringWriter();
            WriterAppender probe = WriterAppender.newBuilder().setName("redaction-probe").setTarget(out)
                    .setLayout(JsonTemplateLayout.newBuilder().setConfiguration(ctx.getConfiguration())
                            .setEventTemplateUri("classpath:log-template.json").build()).build();
            probe.start();
            var rewrite = org.apache.logging.log4j.core.appender.rewrite.RewriteAppender.createAppender("redacting-probe", "true",
                    new org.apache.logging.log4j.core.config.AppenderRef[] {org.apache.logging.log4j.core.config.AppenderRef.createAppenderRef("redaction-probe", null, null)},
                    ctx.getConfiguration(), configuredPolicy(ctx), null);
            ctx.getConfiguration().addAppender(probe);
            rewrite.start();
            rewrite.append(org.apache.logging.log4j.core.impl.Log4jLogEvent.newBuilder().setLoggerName("test")
                    .setLevel(org.apache.logging.log4j.Level.INFO)
                    .setMessage(new org.apache.logging.log4j.message.SimpleMessage("login with password=hunter2 and Authorization: Bearer abc.def"))
                    .build());
            assertThat(out.toString()).contains("password=***").contains("Bearer ***").doesNotContain("hunter2").doesNotContain("abc.def");
            // ... and in the text of an exception and its causes (error.message, error.stack_trace)
            out.getBuffer().setLength(0);
            IllegalStateException failure = new IllegalStateException("connect failed with token=s3cr3t-token",
                    new java.io.IOException("broker said: password='p4ss w0rd' refused"));
            rewrite.append(org.apache.logging.log4j.core.impl.Log4jLogEvent.newBuilder().setLoggerName("test")
                    .setLevel(org.apache.logging.log4j.Level.WARN)
                    .setMessage(new org.apache.logging.log4j.message.SimpleMessage("could not connect"))
                    .setThrown(failure)
                    .build());
            assertThat(out.toString()).contains("could not connect").contains("token=***").contains("password=***")
                    .contains("java.lang.IllegalStateException").contains("java.io.IOException")
                    .contains("StructuredLoggingTest")
                    .doesNotContain("s3cr3t-token").doesNotContain("p4ss w0rd");
            rewrite.stop();
            probe.stop();
        } finally {
            System.clearProperty("LOG_FORMAT");
            Configurator.reconfigure();
            captureJsonLines();
        }
        assertThat(rootAppenders(ctx)).contains("console-text");
    }

    @Test
    void logFormatIsCaseInsensitiveAndAnUnknownValueLogsAsTextWithOneWarning() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        org.apache.logging.log4j.status.StatusListener listener = new org.apache.logging.log4j.status.StatusListener() {
            @Override
            public void log(org.apache.logging.log4j.status.StatusData data) {
                if (data.getLevel().isMoreSpecificThan(org.apache.logging.log4j.Level.WARN)) {
                    warnings.add(data.getMessage().getFormattedMessage());
                }
            }

            @Override
            public org.apache.logging.log4j.Level getStatusLevel() {
                return org.apache.logging.log4j.Level.WARN;
            }

            @Override
            public void close() {
            }
        };
        org.apache.logging.log4j.status.StatusLogger.getLogger().registerListener(listener);
        try {
            System.setProperty("LOG_FORMAT", "JSON");
            Configurator.reconfigure();
            assertThat(rootAppenders(ctx)).contains("console-json").doesNotContain("console-text");
            assertThat(warnings).as("no warning for a known format").noneMatch(w -> w.contains("LOG_FORMAT"));

            System.setProperty("LOG_FORMAT", "xml-bogus");
            Configurator.reconfigure();
            assertThat(rootAppenders(ctx)).as("an unknown format logs as text, never nowhere").contains("console-text");
            assertThat(warnings).as("one warning").filteredOn(w -> w.contains("LOG_FORMAT")).hasSize(1)
                    .first().asString().contains("xml-bogus").contains("text").contains("json");
            assertThat(warnings).noneMatch(w -> w.contains("Unable to locate appender"));
        } finally {
            org.apache.logging.log4j.status.StatusLogger.getLogger().removeListener(listener);
            System.clearProperty("LOG_FORMAT");
            Configurator.reconfigure();
            captureJsonLines();
        }
        assertThat(rootAppenders(ctx)).contains("console-text");
    }

    /** @return the rewrite policy log4j2.xml gives the appender console-json (a RedactCredentials, if the plugin was found) */
    private static org.apache.logging.log4j.core.appender.rewrite.RewritePolicy configuredPolicy(LoggerContext ctx) {
        Object appender = ctx.getConfiguration().getAppender("console-json");
        assertThat(appender).isInstanceOf(org.apache.logging.log4j.core.appender.rewrite.RewriteAppender.class);
        try {
            java.lang.reflect.Field f = appender.getClass().getDeclaredField("rewritePolicy");
            f.setAccessible(true);
            Object policy = f.get(appender);
            assertThat(policy).isInstanceOf(org.infoscreen.fleet.logging.RedactCredentials.class);
            return (org.apache.logging.log4j.core.appender.rewrite.RewritePolicy) policy;
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("RewriteAppender has no policy field", e);
        }
    }

    private static java.util.Set<String> rootAppenders(LoggerContext ctx) {
        LoggerConfig root = ctx.getConfiguration().getRootLogger();
        return root.getAppenders().keySet();
    }
}
