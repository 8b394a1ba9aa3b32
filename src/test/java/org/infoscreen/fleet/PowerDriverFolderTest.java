package org.infoscreen.fleet;

import org.apache.camel.main.MainConfigurationProperties;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.StringLayout;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.infoscreen.fleet.power.AcmeOutletFake;
import org.infoscreen.fleet.power.FakeDevice;
import org.infoscreen.fleet.power.RedfishFake;
import org.infoscreen.fleet.power.ShellyGen1Fake;
import org.infoscreen.fleet.power.ShellyGen2Fake;
import org.infoscreen.fleet.power.TasmotaFake;
import org.infoscreen.fleet.power.WebhookFake;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The service runs from a routes folder of its own (a copy of {@code routes/} in a temporary
 * directory, as an installation has it): a driver file an integrator drops into its
 * {@code kamelets/} folder while the service runs is validated against and used without a restart
 * or rebuild; and with Camel and Apache HttpClient (wire and headers) at DEBUG, the captured log
 * lines of power cycles through every credential-carrying driver contain no plug password, token
 * or API key in any form.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PowerDriverFolderTest extends FleetTestSupport {

    private static final String PASSWORD = "Fl33t-Plug!&pw";
    private static final String TOKEN = "hub-token-5c1d2e3f4a";
    private static final String API_KEY = "acme-key-90ab7f";
    private static final Duration WAIT = Duration.ofSeconds(25);
    private static final Duration BEAT = Duration.ofMillis(500);
    private static final Path ROUTES = copyOfRoutes();

    private final List<TestDisplay> displays = new ArrayList<>();
    private final List<FakeDevice> devices = new ArrayList<>();

    private static Path copyOfRoutes() {
        try {
            Path dir = Files.createTempDirectory("fleet-routes");
            Files.createDirectories(dir.resolve("kamelets"));
            try (Stream<Path> files = Files.walk(Path.of("routes"))) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Path to = dir.resolve(Path.of("routes").relativize(f).toString());
                    Files.createDirectories(to.getParent());
                    Files.copy(f, to, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected void configure(MainConfigurationProperties configuration) {
        configuration.withRoutesIncludePattern("file:" + ROUTES + "/*.yaml");
    }

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        // only the installation's folder: the driver cannot come from the build's routes/ or the jar
        p.setProperty("fleet.power.kamelet-location", "file:" + ROUTES.resolve("kamelets"));
        p.setProperty("camel.component.kamelet.location", "file:" + ROUTES.resolve("kamelets"));
        p.setProperty("fleet.commands.sweep-interval-ms", "300");
        p.setProperty("fleet.liveness.stale-after-s", "2");
        p.setProperty("fleet.power.off-s", "1");
        p.setProperty("fleet.power.verify-interval-ms", "200");
        p.setProperty("fleet.power.http-timeout-ms", "3000");
        return p;
    }

    @Override
    protected Map<String, String> extraEnvironment() {
        return Map.of("POWER_FOLDER_PLUG", PASSWORD, "POWER_FOLDER_TOKEN", TOKEN, "POWER_FOLDER_KEY", API_KEY);
    }

    @AfterEach
    void closeAll() {
        displays.forEach(TestDisplay::close);
        displays.clear();
        devices.forEach(FakeDevice::close);
        devices.clear();
    }

    @AfterAll
    void removeRoutesCopy() throws IOException {
        try (Stream<Path> files = Files.walk(ROUTES)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }

    @Test
    @Order(1)
    void aDriverFileDroppedIntoTheKameletsFolderIsValidatedAgainstAndUsedWithoutARestart() throws IOException {
        AcmeOutletFake strip = device(new AcmeOutletFake(API_KEY));
        TestDisplay d = silentDisplay();
        strip.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        String target = "{\"driver\":\"acme-outlet\",\"params\":{\"host\":\"" + strip.host() + "\",\"outlet\":3},\"secret_ref\":\"POWER_FOLDER_KEY\"}";
        HttpResponse<String> before = httpPut("/api/clients/" + d.uuid() + "/power_target", target);
        assertThat(before.statusCode()).as(before.body()).isEqualTo(400);
        assertThat(json(before.body()).path("error").asText()).isEqualTo("unknown_driver");

        try (var in = getClass().getResourceAsStream("/integrator-driver/acme-outlet-power-action.kamelet.yaml")) {
            Files.copy(in, ROUTES.resolve("kamelets/acme-outlet-power-action.kamelet.yaml"));
        }
        HttpResponse<String> badParams = httpPut("/api/clients/" + d.uuid() + "/power_target",
                "{\"driver\":\"acme-outlet\",\"params\":{\"host\":\"h\",\"outlet\":9},\"secret_ref\":\"POWER_FOLDER_KEY\"}");
        assertThat(badParams.statusCode()).as("its schema is what the service validates against").isEqualTo(400);
        assertThat(json(badParams.body()).path("message").asText()).contains("'outlet' must be at most 8");
        HttpResponse<String> put = httpPut("/api/clients/" + d.uuid() + "/power_target", target);
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        assertThat(getJson("/api/power_drivers/acme-outlet").path("native_cycle").asBoolean()).isFalse();

        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
        assertThat(strip.switches()).extracting(FakeDevice.Switch::how).containsExactly("PUT OFF", "PUT ON");
        assertThat(commandEventTypes(id)).containsSubsequence("power_intent", "power_off", "power_off_verified", "power_wait", "power_on");
        assertThat(routeIds("acme-outlet-power-action")).as("one route instance for the driver").hasSize(1);
    }

    @Test
    @Order(2)
    void capturedDebugLogsOfPowerCyclesContainNoPlugPasswordTokenOrApiKey() throws IOException {
        try (var in = getClass().getResourceAsStream("/integrator-driver/acme-outlet-power-action.kamelet.yaml")) {
            Files.copy(in, ROUTES.resolve("kamelets/acme-outlet-power-action.kamelet.yaml"), StandardCopyOption.REPLACE_EXISTING);
        }
        StringWriter captured = new StringWriter();
        LoggerContext logs = (LoggerContext) LogManager.getContext(false);
        Configuration config = logs.getConfiguration();
        // the service's own console layout, with its redaction: what an operator's log shows
        StringLayout layout = (StringLayout) config.getAppender("console-text").getLayout();
        WriterAppender capture = WriterAppender.createAppender(layout, null, captured, "power-capture", false, true);
        capture.start();
        config.addAppender(capture);
        config.getRootLogger().addAppender(capture, Level.DEBUG, null);
        logs.updateLoggers();
        List<String> debug = List.of("org.apache.hc.client5.http", "org.apache.camel.component.http", "org.apache.camel.component.kamelet",
                "org.apache.camel.processor", "org.apache.camel.support", "org.infoscreen");
        debug.forEach(name -> Configurator.setLevel(name, Level.DEBUG));
        try {
            TasmotaFake tasmota = device(new TasmotaFake(PASSWORD));
            cycleThrough(tasmota, "{\"driver\":\"tasmota\",\"params\":{\"host\":\"" + tasmota.host() + "\"},\"secret_ref\":\"POWER_FOLDER_PLUG\"}");
            ShellyGen1Fake gen1 = device(new ShellyGen1Fake("admin", PASSWORD));
            cycleThrough(gen1, "{\"driver\":\"shelly-gen1\",\"params\":{\"host\":\"" + gen1.host() + "\"},\"secret_ref\":\"POWER_FOLDER_PLUG\"}");
            ShellyGen2Fake gen2 = device(new ShellyGen2Fake(PASSWORD));
            cycleThrough(gen2, "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"" + gen2.host() + "\"},\"secret_ref\":\"POWER_FOLDER_PLUG\"}");
            RedfishFake bmc = device(new RedfishFake("fleet-power", PASSWORD, List.of("On", "ForceOff", "PowerCycle")));
            cycleThrough(bmc, "{\"driver\":\"redfish\",\"params\":{\"host\":\"" + bmc.host()
                    + "\",\"user\":\"fleet-power\",\"auth\":\"session\",\"tls_insecure\":true},\"secret_ref\":\"POWER_FOLDER_PLUG\"}");
            WebhookFake hub = device(new WebhookFake(TOKEN));
            cycleThrough(hub, "{\"driver\":\"http-webhook\",\"params\":{\"on_url\":\"" + hub.baseUrl() + "/outlet/7/on\",\"off_url\":\""
                    + hub.baseUrl() + "/outlet/7/off\",\"query_url\":\"" + hub.baseUrl() + "/outlet/7\",\"auth\":\"bearer\"},\"secret_ref\":\"POWER_FOLDER_TOKEN\"}");
            AcmeOutletFake strip = device(new AcmeOutletFake(API_KEY));
            cycleThrough(strip, "{\"driver\":\"acme-outlet\",\"params\":{\"host\":\"" + strip.host() + "\",\"outlet\":3},\"secret_ref\":\"POWER_FOLDER_KEY\"}");
            // a failure's detail and log lines too: Tasmota with the wrong device password
            TasmotaFake other = device(new TasmotaFake("another-password"));
            TestDisplay d = silentDisplay();
            putTarget(d, "{\"driver\":\"tasmota\",\"params\":{\"host\":\"" + other.host() + "\"},\"secret_ref\":\"POWER_FOLDER_PLUG\"}");
            String failed = cycle(d);
            await().atMost(WAIT).until(() -> "failed".equals(status(failed)));
        } finally {
            debug.forEach(name -> Configurator.setLevel(name, Level.INFO));
            config.getRootLogger().removeAppender("power-capture");
            logs.updateLoggers();
            capture.stop();
        }
        assertThat(routeIds("tasmota-power-action")).as("two Tasmota targets, one route instance").hasSize(1);
        String log = captured.toString();
        assertThat(log).as("the wire log ran: the test cannot pass by logging nothing")
                .contains("http-outgoing").contains("/cm?cmnd=").contains("X-Api-Key").contains("Authorization: Basic ***")
                .contains("password=***");
        for (String secret : List.of(PASSWORD, URLEncoder.encode(PASSWORD, StandardCharsets.UTF_8), TOKEN, API_KEY,
                base64("admin:" + PASSWORD), base64("fleet-power:" + PASSWORD))) {
            assertThat(log).as("no trace of a secret in %d KB of DEBUG log", log.length() / 1024).doesNotContain(secret);
        }
        String details = query("SELECT detail::text AS d FROM client_events UNION ALL SELECT COALESCE(detail, '') FROM client_commands").toString();
        assertThat(details).doesNotContain(PASSWORD).doesNotContain(URLEncoder.encode(PASSWORD, StandardCharsets.UTF_8));
    }

    // ---- helpers -------------------------------------------------------------------------------

    private void cycleThrough(FakeDevice device, String target) {
        TestDisplay d = silentDisplay();
        device.onPowerRestored(() -> d.bootsAfterPowerCycle(BEAT));
        putTarget(d, target);
        String id = cycle(d);
        await().atMost(WAIT).until(() -> "completed".equals(status(id)));
    }

    private List<String> routeIds(String prefix) {
        return context.getRoutes().stream().map(org.apache.camel.Route::getRouteId).filter(id -> id.startsWith(prefix)).distinct().toList();
    }

    private static String base64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private <T extends FakeDevice> T device(T device) {
        devices.add(device);
        return device;
    }

    private TestDisplay silentDisplay() {
        TestDisplay d = TestDisplay.connect(mqttUrl(), topicPrefix(), UUID.randomUUID());
        displays.add(d);
        d.health("running");
        await().atMost(WAIT).until(() -> d.bootId().equals(scalar("SELECT boot_id FROM clients WHERE uuid = ?", d.uuid())));
        await().atMost(WAIT).until(() -> "stale".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", d.uuid())));
        return d;
    }

    private void putTarget(TestDisplay d, String body) {
        HttpResponse<String> r = httpPut("/api/clients/" + d.uuid() + "/power_target", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private String cycle(TestDisplay d) {
        HttpResponse<String> r = httpPost("/api/clients/" + d.uuid() + "/power_cycle", "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r.body()).path("id").asText();
    }
}
