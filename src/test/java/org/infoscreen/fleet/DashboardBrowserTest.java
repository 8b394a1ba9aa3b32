package org.infoscreen.fleet;

import org.infoscreen.fleet.security.Role;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.ElementNotInteractableException;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dashboard page in a real browser (headless Chromium, see {@link HeadlessChromium}) against
 * the running service, fed by MQTT test messages and {@link TestDisplay}s: the orange
 * service-failed panel (absent, appears within one refresh, gone after acknowledge with the row
 * cleared), the client detail's MQTT connection facts, commands with their confirmation step and
 * the lockout, and the sortable, filterable table. The page refreshes every second here.
 * REST authentication is on: the page asks for a token, which each test types into its form
 * (operator unless said otherwise); a viewer sees the fleet with the buttons disabled.
 * Screenshots of the main views go to {@code target/dashboard-screenshots/}. Slow: runs with
 * {@code FLEET_SLOW_TESTS=true} ({@code .ci/run}).
 */
@Tag("slow")
@EnabledIfEnvironmentVariable(named = "FLEET_SLOW_TESTS", matches = "true")
class DashboardBrowserTest extends FleetTestSupport {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private HeadlessChromium browser;
    private WebDriver driver;
    private final List<TestDisplay> displays = new ArrayList<>();

    @Override
    protected Properties extraProperties() {
        Properties p = new Properties();
        p.setProperty("fleet.dashboard.refresh-interval-s", "1");
        return p;
    }

    @BeforeAll
    void startBrowser() {
        browser = HeadlessChromium.start(1400, 1100);
        driver = browser.driver();
    }

    @AfterAll
    void stopBrowser() {
        displays.forEach(TestDisplay::close);
        if (browser != null) {
            browser.close();
        }
    }

    @AfterEach
    void pageHadNoScriptErrors() {
        // script errors, content security policy violations and failed loads are SEVERE
        assertThat(browser.severeConsoleMessages()).isEmpty();
    }

    // ---- service-failed panel ------------------------------------------------------------------

    @Test
    void serviceFailedPanelIsAbsentAppearsWithinOneRefreshAndGoesAwayOnAcknowledge() {
        update("UPDATE clients SET service_failed_at = NULL, service_failed_unit = NULL");
        UUID uuid = UUID.randomUUID();
        String host = "sf-" + uuid.toString().substring(0, 8);
        publish(uuid, "health", "{\"hostname\":\"" + host + "\",\"process_status\":\"running\"}");
        awaitClient(uuid);

        open("");
        waitUntil(d -> !d.findElements(fleetRow(uuid)).isEmpty());
        WebElement panel = driver.findElement(By.id("service-failed-panel"));
        assertThat(panel.isDisplayed()).as("no failures: no panel").isFalse();
        assertThat(driver.findElement(By.id("refresh-status")).getText()).contains("refreshes every 1 s");
        browser.screenshot("01-overview-no-failures");

        publish(uuid, "service_failed", "{\"unit\":\"infoscreen-player.service\",\"result\":\"exit-code\","
                + "\"exit_status\":1,\"event_id\":\"" + UUID.randomUUID() + "\"}");
        await().atMost(WAIT).until(() -> scalar("SELECT service_failed_at FROM clients WHERE uuid = ?", uuid) != null);
        int storedAt = refreshes();
        // a refresh running when the row was stored may miss it; the next one must show it
        waitUntil(d -> panel.isDisplayed() || refreshes() >= storedAt + 2);
        assertThat(panel.isDisplayed()).as("panel shown within one refresh after the failure was stored").isTrue();
        WebElement entry = panel.findElement(By.cssSelector("li[data-uuid='" + uuid + "']"));
        assertThat(entry.getText()).contains(host).contains("infoscreen-player.service").contains("failed");
        assertThat(panel.getCssValue("border-top-color")).as("orange").isEqualTo("rgba(224, 112, 0, 1)");
        browser.screenshot("02-service-failed-panel");

        waitUntil(d -> {
            WebElement ack = d.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "'] button.ack"));
            assertThat(ack.getAccessibleName()).isEqualTo("Acknowledge infoscreen-player.service on " + host);
            ack.click();
            return true;
        });
        waitUntil(d -> !panel.isDisplayed() && d.findElement(By.id("ack-message")).getText().contains("Acknowledged"));
        await().atMost(WAIT).until(() -> events(uuid, "service_failed_cleared") == 1);
        Map<String, Object> row = query("SELECT service_failed_at, service_failed_unit FROM clients WHERE uuid = ?", uuid).get(0);
        assertThat(row.get("service_failed_at")).isNull();
        assertThat(row.get("service_failed_unit")).isNull();
        assertThat(driver.findElement(By.id("ack-message")).getText()).contains("Acknowledged infoscreen-player.service on " + host);

        int clearedAt = refreshes();
        waitUntil(d -> refreshes() >= clearedAt + 2);
        assertThat(panel.isDisplayed()).as("stays away after further refreshes").isFalse();
    }

    @Test
    void acknowledgeSucceedsWhenRefreshesRebuildThePanelWhileItsRequestIsOnItsWay() {
        update("UPDATE clients SET service_failed_at = NULL, service_failed_unit = NULL");
        UUID uuid = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        String host = "slowack-" + uuid.toString().substring(0, 8);
        publish(uuid, "health", "{\"hostname\":\"" + host + "\",\"process_status\":\"running\"}");
        publish(other, "health", "{\"hostname\":\"slowack-other\",\"process_status\":\"running\"}");
        for (UUID u : List.of(uuid, other)) {
            publish(u, "service_failed", "{\"unit\":\"infoscreen-player.service\",\"result\":\"exit-code\",\"event_id\":\"" + UUID.randomUUID() + "\"}");
        }
        await().atMost(WAIT).until(() -> ((Number) scalar("SELECT count(*) FROM clients WHERE uuid IN (?, ?) AND service_failed_at IS NOT NULL",
                uuid, other)).intValue() == 2);

        open("");
        waitUntil(d -> d.findElements(By.cssSelector("#service-failed-list li")).size() == 2);
        // the acknowledge answer takes 3 s (a loaded server): refreshes every second come back meanwhile,
        // and the other display's new failure makes them rebuild the panel
        js("const original = window.fetch; window.fetch = (path, init) => String(path).endsWith('/clear_service_failed')"
                + " ? new Promise((ok) => setTimeout(ok, 3000)).then(() => original(path, init)) : original(path, init);");
        waitUntil(d -> {
            d.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "'] button.ack")).click();
            return true;
        });
        waitUntil(d -> !d.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "'] button.ack")).isEnabled());
        publish(other, "service_failed", "{\"unit\":\"kiosk-browser.service\",\"result\":\"signal\",\"event_id\":\"" + UUID.randomUUID() + "\"}");
        int before = refreshes();
        WebElement message = driver.findElement(By.id("ack-message"));
        waitUntil(d -> !message.getText().isEmpty());
        assertThat(refreshes()).as("refreshes ran while the request was on its way").isGreaterThanOrEqualTo(before + 1);
        assertThat(message.getText()).isEqualTo("✔ Acknowledged infoscreen-player.service on " + host + ".");
        await().atMost(WAIT).until(() -> scalar("SELECT service_failed_at FROM clients WHERE uuid = ?", uuid) == null);
        waitUntil(d -> d.findElements(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "']")).isEmpty()
                && d.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + other + "']")).getText().contains("kiosk-browser.service"));
        int after = refreshes();
        waitUntil(d -> refreshes() >= after + 2);
        assertThat(driver.findElements(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "']"))).as("stays away").isEmpty();
        assertThat(driver.findElement(By.id("service-failed-count")).getText()).isEqualTo("1");
        assertThat(driver.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + other + "']")).getText())
                .as("the UUID next to the host name").contains("slowack-other (" + other.toString().substring(0, 8) + ")");
        update("UPDATE clients SET service_failed_at = NULL, service_failed_unit = NULL WHERE uuid = ?", other);
    }

    // ---- client detail -------------------------------------------------------------------------

    @Test
    void detailShowsReconnectCountAndLastDisconnectOfTheLastHealthMessage() {
        UUID uuid = UUID.randomUUID();
        String host = "mqtt-" + uuid.toString().substring(0, 8);
        publish(uuid, "health", health(host, 2, "2026-11-29T11:58:30Z"));
        publish(uuid, "health", health(host, 5, "2026-11-29T12:41:07Z"));
        await().atMost(WAIT).until(() -> Integer.valueOf(5).equals(scalar("SELECT mqtt_reconnect_count FROM clients WHERE uuid = ?", uuid)));

        open("");
        // keyboard: the display's link in the table opens the detail
        waitUntil(d -> {
            d.findElement(fleetRow(uuid)).findElement(By.linkText(host)).sendKeys(Keys.ENTER);
            return true;
        });
        waitUntil(d -> host.equals(d.findElement(By.id("detail-title")).getText()));
        assertThat(driver.getCurrentUrl()).endsWith("#client=" + uuid);
        assertThat(driver.switchTo().activeElement().getAttribute("id")).as("focus moves to the detail").isEqualTo("detail-title");

        assertThat(field("mqtt_reconnect_count").getText()).isEqualTo("5");
        assertThat(field("mqtt_last_disconnect_at").getText()).contains("2026-11-29 12:41:07 UTC").contains("ago");
        assertThat(field("connected_since").getText()).isEqualTo("2026-11-29 12:41:09 UTC");
        assertThat(field("process_status").getText()).isEqualTo("running");
        assertThat(driver.findElement(By.id("detail-boots")).getText()).contains("client registered");
        assertThat(driver.findElement(By.id("detail-events")).getText()).contains("client registered");
        assertThat(driver.findElement(By.cssSelector("#detail-actions [data-action='power_cycle']")).isDisplayed())
                .as("no power target: no power cycle button").isFalse();
        browser.screenshot("03-client-detail");

        // the next health message is shown by a later refresh, without reloading the page
        publish(uuid, "health", health(host, 6, "2026-11-29T12:50:00Z"));
        waitUntil(d -> "6".equals(field("mqtt_reconnect_count").getText()));
        assertThat(field("mqtt_last_disconnect_at").getText()).contains("2026-11-29 12:50:00 UTC");

        driver.findElement(By.id("detail-close")).click();
        waitUntil(d -> !d.findElement(By.id("detail")).isDisplayed());
    }

    @Test
    void detailOfAnUnknownDisplayShowsNoOtherDisplaysDataNoButtonsAndIsNotAskedForAgain() {
        UUID known = UUID.randomUUID();
        String host = "known-" + known.toString().substring(0, 8);
        publish(known, "health", "{\"hostname\":\"" + host + "\",\"process_status\":\"running\",\"system\":{\"uptime_s\":\"soon\"}}");
        awaitClient(known);
        open("#client=" + known);
        waitUntil(d -> host.equals(d.findElement(By.id("detail-title")).getText()));
        assertThat(field("uptime").getText()).as("a non-number uptime").isEqualTo("–");
        assertThat(actionButton("restart_app").isDisplayed()).isTrue();

        UUID unknown = UUID.randomUUID();
        js("performance.clearResourceTimings(); location.hash = '#client=" + unknown + "'");
        WebElement error = driver.findElement(By.id("detail-error"));
        waitUntil(d -> error.getText().equals("No display with UUID " + unknown + "."));
        assertThat(driver.findElement(By.id("detail-title")).getText()).isEqualTo("Display " + unknown);
        assertThat(driver.findElement(By.id("detail-health")).getText()).as("nothing of the previous display").isEmpty();
        assertThat(driver.findElement(By.id("detail-body")).isDisplayed()).as("no data, no buttons").isFalse();
        assertThat(actionButton("restart_app").isDisplayed()).isFalse();
        int now = refreshes();
        waitUntil(d -> refreshes() >= now + 3);
        assertThat(((Number) js("return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/api/clients/"
                + unknown + "')).length")).intValue()).as("a 404 display is not polled").isEqualTo(1);
        assertThat(error.getText()).isEqualTo("No display with UUID " + unknown + ".");
    }

    // ---- commands ------------------------------------------------------------------------------

    @Test
    void commandIsSentOnlyAfterConfirmationShowsInTheHistoryAndASecondOneShowsTheLockout() {
        UUID uuid = UUID.randomUUID();
        TestDisplay display = TestDisplay.connect(mqttUrl(), topicPrefix(), uuid);
        displays.add(display);
        display.health("running");
        awaitClient(uuid);

        open("#client=" + uuid);
        waitUntil(d -> display.hostname().equals(d.findElement(By.id("detail-title")).getText()));
        WebElement dialog = driver.findElement(By.id("confirm-dialog"));

        // Escape and Cancel both leave without sending anything
        actionButton("restart_app").click();
        waitUntil(d -> dialog.isDisplayed());
        assertThat(dialog.getText()).contains("Restart the app on " + display.hostname());
        driver.switchTo().activeElement().sendKeys(Keys.ESCAPE);
        waitUntil(d -> !dialog.isDisplayed());
        actionButton("restart_app").click();
        waitUntil(d -> dialog.isDisplayed());
        driver.findElement(By.id("confirm-cancel")).click();
        waitUntil(d -> !dialog.isDisplayed());
        assertThat(commandCount(uuid)).as("nothing sent without confirmation").isZero();

        actionButton("restart_app").click();
        waitUntil(d -> dialog.isDisplayed());
        driver.findElement(By.id("confirm-reason")).sendKeys("frozen screen (browser test)");
        driver.findElement(By.id("confirm-ok")).click();
        waitUntil(d -> !dialog.isDisplayed());
        await().atMost(WAIT).until(() -> commandCount(uuid) == 1);
        String id = (String) scalar("SELECT CAST(id AS text) FROM client_commands WHERE client_uuid = ?", uuid);
        assertThat(commandRow(id)).containsEntry("action", "restart_app").containsEntry("reason", "frozen screen (browser test)");
        waitUntil(d -> d.findElement(By.id("command-message")).getText().contains("Restart app sent"));
        // the display acks: the history follows the command to completed
        waitUntil(d -> commandStatus(id).equals("completed"));
        WebElement historyRow = driver.findElement(By.cssSelector("#commands-table tr[data-command-id='" + id + "']"));
        assertThat(historyRow.getText()).contains("Restart app").contains("completed").contains(tokenName(Role.OPERATOR));
        assertThat(commandRow(id)).containsEntry("requested_by", tokenName(Role.OPERATOR));
        browser.screenshot("04-command-history");

        actionButton("reboot_host").click();
        waitUntil(d -> dialog.isDisplayed());
        assertThat(dialog.getText()).contains("Reboot " + display.hostname());
        driver.findElement(By.id("confirm-ok")).click();
        WebElement message = driver.findElement(By.id("command-message"));
        waitUntil(d -> message.getText().contains("lockout"));
        assertThat(message.getText())
                .contains("Not sent: " + display.hostname() + " is in its lockout")
                .contains("(Restart app at " + stampOf(commandRow(id).get("created_at")) + ")")
                .containsPattern("try again in 1[45] min \\d+ s \\(after \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC\\)");
        assertThat(message.findElement(By.tagName("button")).getText()).isEqualTo("Override the lockout…");
        assertThat(commandCount(uuid)).as("the lockout refused the second command").isEqualTo(1);
        browser.screenshot("05-lockout");
    }

    // ---- power cycle -----------------------------------------------------------------------------

    @Test
    void powerCycleButtonOnlyWhereAPowerTargetExistsAndARefusalIsExplained() {
        UUID uuid = UUID.randomUUID();
        TestDisplay display = TestDisplay.connect(mqttUrl(), topicPrefix(), uuid);
        displays.add(display);
        display.health("running");
        awaitClient(uuid);
        // a Shelly Gen2 plug nobody answers for: the online display's power cycle is refused before any switching
        HttpResponse<String> put = request("PUT", "/api/clients/" + uuid + "/power_target",
                "{\"driver\":\"shelly-gen2\",\"params\":{\"host\":\"127.0.0.1:9\"}}", token(Role.ADMIN),
                Map.of("Content-Type", "application/json"));
        Assumptions.assumeFalse(put.statusCode() == 404 && put.body().contains("\"not_found\""),
                "power targets (issue #4) are not in this build");
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);

        open("#client=" + uuid);
        waitUntil(d -> display.hostname().equals(d.findElement(By.id("detail-title")).getText()));
        waitUntil(d -> actionButton("power_cycle").isDisplayed());
        assertThat(field("has_power_target").getText()).isEqualTo("yes");
        WebElement dialog = driver.findElement(By.id("confirm-dialog"));
        actionButton("power_cycle").click();
        waitUntil(d -> dialog.isDisplayed());
        assertThat(dialog.getText()).contains("Cut the power of and restart " + display.hostname())
                .contains("ignore the lockout and that the display is online");
        driver.findElement(By.id("confirm-ok")).click();
        WebElement message = driver.findElement(By.id("command-message"));
        waitUntil(d -> message.getText().startsWith("✖ Not sent"));
        assertThat(message.getText()).contains(display.hostname() + " is online (it answers over MQTT)");
        assertThat(commandCount(uuid)).as("nothing switched for an online display").isZero();
    }

    // ---- table ---------------------------------------------------------------------------------

    @Test
    void displayTableSortsByColumnAndFiltersByTextAndState() {
        UUID crashed = UUID.randomUUID();
        UUID online = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        publish(crashed, "health", "{\"hostname\":\"sort-b-crashed\",\"process_status\":\"crashed\",\"app_version\":\"3.10.0\"}");
        publish(online, "health", "{\"hostname\":\"sort-a-online\",\"process_status\":\"running\",\"app_version\":\"3.9.0\"}");
        publish(other, "health", "{\"hostname\":\"unrelated-x\",\"process_status\":\"running\"}");
        await().atMost(WAIT).until(() -> "crashed".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", crashed)));
        awaitClient(other);

        open("");
        WebElement filter = driver.findElement(By.id("filter-text"));
        filter.sendKeys("sort-");
        waitUntil(d -> visibleNames().equals(List.of("sort-a-online", "sort-b-crashed")));
        assertThat(driver.findElement(By.id("fleet-shown")).getText()).startsWith("Showing 2 of ");
        WebElement nameHeader = header("name");
        assertThat(nameHeader.getAttribute("aria-sort")).isEqualTo("ascending");

        // keyboard: the column header is a button
        header("state").findElement(By.tagName("button")).sendKeys(Keys.ENTER);
        waitUntil(d -> "ascending".equals(header("state").getAttribute("aria-sort")));
        assertThat(nameHeader.getAttribute("aria-sort")).isEqualTo("none");
        waitUntil(d -> visibleNames().equals(List.of("sort-b-crashed", "sort-a-online")));
        header("state").findElement(By.tagName("button")).click();
        waitUntil(d -> "descending".equals(header("state").getAttribute("aria-sort")));
        waitUntil(d -> visibleNames().equals(List.of("sort-a-online", "sort-b-crashed")));

        // versions sort as numbers: 3.9.0 before 3.10.0
        header("version").findElement(By.tagName("button")).click();
        waitUntil(d -> visibleNames().equals(List.of("sort-a-online", "sort-b-crashed")));
        header("version").findElement(By.tagName("button")).click();
        waitUntil(d -> visibleNames().equals(List.of("sort-b-crashed", "sort-a-online")));

        new Select(driver.findElement(By.id("filter-state"))).selectByValue("crashed");
        waitUntil(d -> visibleNames().equals(List.of("sort-b-crashed")));
        WebElement state = driver.findElement(fleetRow(crashed)).findElement(By.cssSelector(".state"));
        assertThat(state.getText()).as("state in words, not only a colour").isEqualTo("✖ crashed");

        // the filter and the keyboard focus on a row survive the periodic refresh
        waitUntil(d -> {
            d.findElement(fleetRow(crashed)).findElement(By.cssSelector("a.client-link")).sendKeys("");
            return true;
        });
        int now = refreshes();
        waitUntil(d -> refreshes() >= now + 2);
        assertThat(visibleNames()).containsExactly("sort-b-crashed");
        assertThat(driver.switchTo().activeElement().getText()).as("focus kept on the row's link").isEqualTo("sort-b-crashed");
        new Select(driver.findElement(By.id("filter-state"))).selectByValue("");
        filter.clear();
    }

    // ---- authentication -------------------------------------------------------------------------

    @Test
    void pageAsksForATokenKeepsItInSessionStorageOnlyAndForgetsARefusedOne() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"hostname\":\"auth-" + uuid.toString().substring(0, 8) + "\",\"process_status\":\"running\"}");
        awaitClient(uuid);
        driver.get(base());
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.get(base());
        WebElement panel = driver.findElement(By.id("token-panel"));
        waitUntil(d -> panel.isDisplayed());
        assertThat(driver.findElement(By.id("token-input")).getAttribute("type")).isEqualTo("password");
        assertThat(driver.findElement(By.id("token-input")).getAccessibleName()).isEqualTo("API token");
        assertThat(driver.findElements(fleetRow(uuid))).as("no data without a token").isEmpty();
        assertThat(driver.findElement(By.cssSelector("[data-count='total']")).getText()).isEqualTo("–");
        browser.screenshot("06-sign-in");

        signIn("not-a-valid-token");
        waitUntil(d -> d.findElement(By.id("token-reason")).getText().startsWith("The token was refused"));
        assertThat(sessionToken()).as("a refused token is not kept").isNull();

        // what a browser cannot put in a header, or what is far too long, is refused on entry
        signIn("fleet_abc\u201d");
        waitUntil(d -> d.findElement(By.id("token-reason")).getText().contains("it contains \"\u201d\" (U+201D)"));
        assertThat(sessionToken()).isNull();
        driver.findElement(By.id("token-input")).clear();
        // (put in with a script: typing 20,000 keys takes minutes)
        js("document.getElementById('token-input').value = 'x'.repeat(20000)");
        driver.findElement(By.id("token-input")).sendKeys(Keys.ENTER);
        waitUntil(d -> d.findElement(By.id("token-reason")).getText().contains("it has 20000 characters"));
        assertThat(sessionToken()).isNull();
        driver.findElement(By.id("token-input")).clear();
        // one stored by an earlier page is forgotten on load: the sign-in form comes back
        js("sessionStorage.setItem('infoscreen-fleet.api-token', 'fleet_abc\u201d')");
        driver.navigate().refresh();
        waitUntil(d -> d.findElement(By.id("token-panel")).isDisplayed());
        assertThat(sessionToken()).isNull();
        assertThat(browser.severeConsoleMessages()).isEmpty();

        // pasted with its scheme: "Bearer " is dropped
        signIn("  Bearer " + token(Role.VIEWER) + " ");
        waitUntil(d -> d.findElement(By.id("auth-status")).getText().contains("Signed in as " + tokenName(Role.VIEWER)));
        assertThat(sessionToken()).isEqualTo(token(Role.VIEWER));
        driver.findElement(By.id("sign-out")).click();
        waitUntil(d -> d.findElement(By.id("token-panel")).isDisplayed());

        signIn(token(Role.VIEWER));
        waitUntil(d -> !d.findElement(By.id("token-panel")).isDisplayed());
        waitUntil(d -> !d.findElements(fleetRow(uuid)).isEmpty());
        assertThat(sessionToken()).isEqualTo(token(Role.VIEWER));
        assertThat(driver.getCurrentUrl()).doesNotContain(token(Role.VIEWER));
        Object local = ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("return JSON.stringify(localStorage)");
        assertThat(String.valueOf(local)).doesNotContain(token(Role.VIEWER));

        // a reload in the same tab keeps the session; signing out forgets the token
        driver.navigate().refresh();
        waitUntil(d -> d.findElement(By.id("auth-status")).getText().contains("Signed in as " + tokenName(Role.VIEWER)));
        driver.findElement(By.id("sign-out")).click();
        waitUntil(d -> d.findElement(By.id("token-panel")).isDisplayed());
        assertThat(sessionToken()).isNull();
        assertThat(driver.findElements(fleetRow(uuid))).as("nothing of the session stays on the page").isEmpty();
        assertThat(driver.findElement(By.cssSelector("[data-count='total']")).getText()).isEqualTo("–");
    }

    @Test
    void whenTheTokenIsRefusedOnARefreshTheDataAndAStaleErrorGoAway() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"hostname\":\"ended-" + uuid.toString().substring(0, 8) + "\",\"process_status\":\"crashed\"}");
        await().atMost(WAIT).until(() -> "crashed".equals(scalar("SELECT liveness_state FROM clients WHERE uuid = ?", uuid)));
        open("#client=" + uuid);
        waitUntil(d -> !d.findElements(fleetRow(uuid)).isEmpty() && d.findElement(By.id("crashed-panel")).isDisplayed()
                && d.findElement(By.id("detail-body")).isDisplayed());
        // the service does not answer for a while: the banner says so
        js("window.originalFetch = window.fetch; window.fetch = () => Promise.reject(new TypeError('Failed to fetch'));");
        WebElement banner = driver.findElement(By.id("error-banner"));
        waitUntil(d -> banner.isDisplayed() && banner.getText().contains("network error"));
        // it answers again, but the token is no longer valid (e.g. removed from API_TOKENS)
        js("sessionStorage.setItem('infoscreen-fleet.api-token', 'fleet_revoked0000000000000000000000000000000000');"
                + " window.fetch = window.originalFetch;");
        waitUntil(d -> d.findElement(By.id("token-panel")).isDisplayed());
        assertThat(driver.findElement(By.id("token-reason")).getText()).startsWith("The token was refused");
        assertThat(banner.isDisplayed()).as("no stale network error").isFalse();
        assertThat(driver.findElements(fleetRow(uuid))).as("no data of the ended session").isEmpty();
        assertThat(driver.findElement(By.cssSelector("[data-count='total']")).getText()).isEqualTo("–");
        assertThat(driver.findElement(By.id("crashed-panel")).isDisplayed()).isFalse();
        assertThat(driver.findElement(By.id("detail")).isDisplayed()).isFalse();
        assertThat(driver.findElements(By.cssSelector("time[data-relative], .downtime[data-since]"))).as("nothing keeps counting").isEmpty();
        assertThat(sessionToken()).isNull();
    }

    @Test
    void onANarrowScreenThePageDoesNotScrollSideways() {
        UUID uuid = UUID.randomUUID();
        publish(uuid, "health", "{\"hostname\":\"narrow-" + uuid.toString().substring(0, 8) + "\",\"process_status\":\"running\","
                + "\"app_version\":\"3.4.1-with-a-long-build-suffix\"}");
        awaitClient(uuid);
        Dimension size = driver.manage().window().getSize();
        try {
            driver.manage().window().setSize(new Dimension(390, 844));
            open("#client=" + uuid);
            waitUntil(d -> !d.findElements(fleetRow(uuid)).isEmpty() && d.findElement(By.id("detail-body")).isDisplayed());
            long page = (Long) js("return document.documentElement.scrollWidth - document.documentElement.clientWidth");
            assertThat(page).as("no sideways scroll of the page").isLessThanOrEqualTo(0);
            browser.screenshot("08-narrow");
        } finally {
            driver.manage().window().setSize(size);
        }
    }

    @Test
    void viewerSeesTheFleetWithCommandAndAcknowledgeButtonsDisabled() {
        UUID uuid = UUID.randomUUID();
        String host = "viewer-" + uuid.toString().substring(0, 8);
        publish(uuid, "health", "{\"hostname\":\"" + host + "\",\"process_status\":\"running\"}");
        publish(uuid, "service_failed", "{\"unit\":\"kiosk-browser.service\",\"result\":\"signal\",\"event_id\":\"" + UUID.randomUUID() + "\"}");
        await().atMost(WAIT).until(() -> scalar("SELECT service_failed_at FROM clients WHERE uuid = ?", uuid) != null);

        open("#client=" + uuid, Role.VIEWER);
        waitUntil(d -> host.equals(d.findElement(By.id("detail-title")).getText()));
        WebElement ack = waitUntil(d -> d.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "'] button.ack")));
        assertThat(ack.isEnabled()).as("acknowledge needs operator").isFalse();
        for (String action : List.of("restart_app", "reboot_host", "shutdown_host")) {
            assertThat(actionButton(action).isEnabled()).as(action).isFalse();
            assertThat(actionButton(action).getAttribute("title")).isEqualTo("Needs the operator role; you are signed in as viewer.");
        }
        assertThat(driver.findElement(By.id("role-note")).getText()).contains("you are signed in as viewer");
        browser.screenshot("07-viewer");

        // the same page as an operator: enabled
        open("#client=" + uuid, Role.OPERATOR);
        waitUntil(d -> host.equals(d.findElement(By.id("detail-title")).getText()));
        waitUntil(d -> actionButton("restart_app").isEnabled());
        assertThat(driver.findElement(By.id("role-note")).isDisplayed()).isFalse();
        waitUntil(d -> d.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "'] button.ack")).isEnabled());

        // the token is changed to a viewer's on the server side: the next refresh's role check disables the buttons
        js("sessionStorage.setItem('infoscreen-fleet.api-token', arguments[0])", token(Role.VIEWER));
        waitUntil(d -> !actionButton("restart_app").isEnabled());
        assertThat(driver.findElement(By.id("auth-status")).getText()).contains("Signed in as " + tokenName(Role.VIEWER));
        assertThat(driver.findElement(By.cssSelector("#service-failed-list li[data-uuid='" + uuid + "'] button.ack")).isEnabled()).isFalse();
        update("UPDATE clients SET service_failed_at = NULL, service_failed_unit = NULL WHERE uuid = ?", uuid);
    }

    // ---- helpers -------------------------------------------------------------------------------

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private String sessionToken() {
        return (String) ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "return sessionStorage.getItem('infoscreen-fleet.api-token')");
    }

    /** Opens the page in a fresh session (no token), signs in through the token form as an operator. */
    private void open(String fragment) {
        open(fragment, Role.OPERATOR);
    }

    private void open(String fragment, Role role) {
        driver.get(base());
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("sessionStorage.clear()");
        driver.get(base() + fragment);
        signIn(token(role));
        waitUntil(d -> d.findElement(By.id("auth-status")).getText()
                .contains("Signed in as " + tokenName(role) + " (" + role.id() + ")"));
        waitUntil(d -> refreshes() >= 1);
    }

    private void signIn(String token) {
        WebElement input = waitUntil(d -> {
            WebElement field = d.findElement(By.id("token-input"));
            return field.isDisplayed() ? field : null;
        });
        input.sendKeys(token);
        input.sendKeys(Keys.ENTER);
    }

    private String base() {
        return "http://127.0.0.1:" + httpPort() + "/";
    }

    private int refreshes() {
        String v = driver.findElement(By.tagName("body")).getAttribute("data-refreshed");
        return v == null || v.isEmpty() ? 0 : Integer.parseInt(v);
    }

    private <T> T waitUntil(Function<WebDriver, T> condition) {
        // an element replaced by a refresh between finding and using it: look it up again
        return new WebDriverWait(driver, WAIT).ignoring(StaleElementReferenceException.class)
                .ignoring(ElementNotInteractableException.class).until(condition);
    }

    private void awaitClient(UUID uuid) {
        await().atMost(WAIT).until(() -> ((Number) scalar("SELECT count(*) FROM clients WHERE uuid = ?", uuid)).intValue() == 1);
    }

    private long commandCount(UUID uuid) {
        return ((Number) scalar("SELECT count(*) FROM client_commands WHERE client_uuid = ?", uuid)).longValue();
    }

    private static By fleetRow(UUID uuid) {
        return By.cssSelector("#fleet-table tbody tr[data-uuid='" + uuid + "']");
    }

    private WebElement field(String name) {
        return driver.findElement(By.cssSelector("#detail-health dd[data-field='" + name + "']"));
    }

    private WebElement actionButton(String action) {
        return driver.findElement(By.cssSelector("#detail-actions button[data-action='" + action + "']"));
    }

    private WebElement header(String key) {
        return driver.findElement(By.cssSelector("#fleet-table th[data-sort='" + key + "']"));
    }

    private String commandStatus(String id) {
        List<WebElement> rows = driver.findElements(By.cssSelector("#commands-table tr[data-command-id='" + id + "'] [data-status]"));
        return rows.isEmpty() ? "" : rows.get(0).getAttribute("data-status");
    }

    private List<String> visibleNames() {
        return driver.findElements(By.cssSelector("#fleet-table tbody tr a.client-link")).stream().map(WebElement::getText).toList();
    }

    /** @return a database time as the page writes it: {@code 2026-11-29 12:41:07 UTC} */
    private static String stampOf(Object time) {
        java.time.Instant at = time instanceof java.time.OffsetDateTime o ? o.toInstant() : ((java.sql.Timestamp) time).toInstant();
        return at.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString().replace('T', ' ').replace("Z", " UTC");
    }

    private static String health(String host, int reconnects, String lastDisconnect) {
        String connectedSince = lastDisconnect.replace(":07Z", ":09Z");
        return "{\"hostname\":\"" + host + "\",\"process_status\":\"running\",\"app_version\":\"3.4.1\","
                + "\"broker_connection\":{\"reconnect_count\":" + reconnects + ",\"last_disconnect_at\":\"" + lastDisconnect
                + "\",\"connected_since\":\"" + connectedSince + "\"}}";
    }
}
