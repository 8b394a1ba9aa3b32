package org.infoscreen.fleet;

import org.apache.camel.main.Main;
import org.infoscreen.fleet.cli.FleetCommand;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Entry point: {@code java -jar target/infoscreen-fleet.jar [subcommand]}. Without a subcommand
 * it runs the service; subcommands ({@code token}, ...) are listed in {@link FleetCommand}.
 */
public final class Application {

    private static final Logger LOG = LoggerFactory.getLogger(Application.class);

    private Application() {
    }

    /**
     * @param args a subcommand and its options, or arguments for Camel Main
     * @throws Exception when the service cannot start
     */
    public static void main(String[] args) throws Exception {
        // always exit with the command's code: a subcommand (simulate) may leave library threads
        // behind, and its documented exit code must reach the shell
        System.exit(FleetCommand.commandLine().execute(args));
    }

    /**
     * Runs the service until it is stopped. Loads the YAML routes from the directory named by
     * {@code FLEET_ROUTES_DIR} (default {@code routes} in the working directory, so an operator can
     * change a route without rebuilding); falls back to the copy packaged in the jar when that
     * directory does not exist.
     *
     * @param args arguments passed on to Camel Main
     * @throws Exception when the service cannot start
     */
    public static void runService(String[] args) throws Exception {
        Main main = new Main();
        main.configure().withRoutesIncludePattern(routesIncludePattern(System.getenv("FLEET_ROUTES_DIR")));
        main.run(args);
    }

    /**
     * @param routesDir directory with {@code *.yaml} routes, {@code null} for {@code routes}
     * @return a camel-main routes include pattern: {@code file:<dir>/*.yaml}, or the classpath copy
     *         when the directory is missing
     */
    static String routesIncludePattern(String routesDir) {
        Path dir = Path.of(routesDir == null || routesDir.isBlank() ? "routes" : routesDir);
        if (Files.isDirectory(dir)) {
            String d = dir.toAbsolutePath().normalize().toString();
            LOG.info("Loading routes from {}", d);
            return "file:" + d + "/*.yaml";
        }
        LOG.warn("Routes directory {} not found; using the routes packaged in the jar", dir.toAbsolutePath());
        return "classpath:routes/*.yaml";
    }
}
