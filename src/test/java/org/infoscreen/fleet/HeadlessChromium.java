package org.infoscreen.fleet;

import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Level;
import java.util.stream.Stream;

/**
 * Debian's headless Chromium driven by its chromedriver (packages {@code chromium} and
 * {@code chromium-driver}; never a downloaded driver). Tests using it skip when the binaries are
 * missing, unless {@code FLEET_REQUIRE_BROWSER=true} (as {@code .ci/run} sets), then they fail.
 * Paths: {@code CHROMIUM_BIN} (default {@code /usr/bin/chromium}), {@code CHROMEDRIVER_BIN}
 * (default {@code /usr/bin/chromedriver}).
 *
 * <p>Runs as root, so {@code --no-sandbox}; the background-networking flags keep Chromium from
 * calling home (a closed network answers that with a flood of refused connections). Each
 * instance has a fresh profile directory, deleted by {@link #close()}.
 */
final class HeadlessChromium implements AutoCloseable {

    /** Screenshots of a test run, for review: {@code target/dashboard-screenshots/}. */
    static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");

    private final ChromeDriver driver;
    private final Path profile;

    private HeadlessChromium(ChromeDriver driver, Path profile) {
        this.driver = driver;
        this.profile = profile;
    }

    /** Starts a browser window of {@code width} x {@code height} CSS pixels, or skips the test (see class doc). */
    static HeadlessChromium start(int width, int height) {
        File chromium = new File(env("CHROMIUM_BIN", "/usr/bin/chromium"));
        File chromedriver = new File(env("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"));
        if (!chromium.canExecute() || !chromedriver.canExecute()) {
            String missing = "headless browser tests need " + chromium + " and " + chromedriver
                    + " (Debian: apt-get install chromium chromium-driver)";
            if ("true".equals(System.getenv("FLEET_REQUIRE_BROWSER"))) {
                throw new IllegalStateException(missing + "; FLEET_REQUIRE_BROWSER=true");
            }
            Assumptions.abort(missing);
        }
        try {
            Path profile = Files.createTempDirectory("fleet-chromium-");
            ChromeOptions options = new ChromeOptions();
            options.setBinary(chromium);
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--no-default-browser-check",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-extensions", "--disable-default-apps", "--metrics-recording-only",
                    "--user-data-dir=" + profile, "--window-size=" + width + "," + height, "--lang=en-US");
            LoggingPreferences logs = new LoggingPreferences();
            logs.enable(LogType.BROWSER, Level.ALL);
            options.setCapability("goog:loggingPrefs", logs);
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(chromedriver)
                    .usingAnyFreePort()
                    .build();
            return new HeadlessChromium(new ChromeDriver(service, options), profile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ChromeDriver driver() {
        return driver;
    }

    /** Saves a screenshot of the window as {@code target/dashboard-screenshots/<name>.png}. */
    Path screenshot(String name) {
        try {
            Files.createDirectories(SCREENSHOTS);
            Path target = SCREENSHOTS.resolve(name + ".png");
            File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
            Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @return the console messages at level SEVERE since the last call (script errors, content
     *         security policy violations, files that did not load), without Chromium's note of
     *         each HTTP error status: the page answers those (401, 404, 409) itself
     */
    List<String> severeConsoleMessages() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
                .filter(e -> !e.getMessage().contains("Failed to load resource: the server responded with a status of"))
                .map(LogEntry::getMessage)
                .toList();
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // a temporary profile left behind
            }
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
