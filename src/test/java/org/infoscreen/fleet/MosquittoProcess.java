package org.infoscreen.fleet;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A mosquitto broker process started by a test with the project's own {@code mosquitto/} config:
 * the config's tuning is kept, only the listener port, persistence directory, user and logging
 * are replaced for the test. Skips the test (JUnit assumption) when the {@code mosquitto} binary
 * is missing, unless {@code FLEET_REQUIRE_MOSQUITTO=true} (as in {@code .ci/run}), where a
 * missing binary fails the test instead.
 */
public final class MosquittoProcess implements AutoCloseable {

    private static final List<String> REPLACED = List.of("listener", "port", "bind_address", "persistence_location",
            "log_dest", "user", "pid_file", "log_type", "socket_domain");

    private final Process process;
    private final int port;
    private final Path dir;

    private MosquittoProcess(Process process, int port, Path dir) {
        this.process = process;
        this.port = port;
        this.dir = dir;
    }

    /**
     * Starts mosquitto with {@code mosquitto/mosquitto.conf} on a free port in a fresh directory.
     *
     * @return the running broker
     */
    public static MosquittoProcess startProjectConfig() {
        Path binary = Path.of("/usr/sbin/mosquitto");
        if (!Files.isExecutable(binary)) {
            if ("true".equals(System.getenv("FLEET_REQUIRE_MOSQUITTO"))) {
                throw new IllegalStateException("mosquitto binary required (FLEET_REQUIRE_MOSQUITTO=true) but missing");
            }
            Assumptions.abort("mosquitto binary not installed: test skipped (.ci/run installs it)");
        }
        try {
            Path dir = Files.createTempDirectory("fleet-mosquitto");
            int port = TestServices.freePort();
            String base = Files.readAllLines(Path.of("mosquitto/mosquitto.conf")).stream()
                    .filter(l -> REPLACED.stream().noneMatch(k -> l.strip().startsWith(k + " ")))
                    .collect(Collectors.joining("\n"));
            String conf = base + "\n\n# test overrides\nlistener " + port + " 127.0.0.1\nuser root\n"
                    + "persistence_location " + dir + "/\nlog_dest file " + dir.resolve("mosquitto.log") + "\n";
            Path confFile = dir.resolve("mosquitto.conf");
            Files.writeString(confFile, conf);
            Process p = new ProcessBuilder(binary.toString(), "-c", confFile.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout.log").toFile())
                    .start();
            MosquittoProcess m = new MosquittoProcess(p, port, dir);
            m.awaitListening();
            return m;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void awaitListening() throws IOException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("mosquitto exited: " + Files.readString(dir.resolve("stdout.log"))
                        + (Files.exists(dir.resolve("mosquitto.log")) ? Files.readString(dir.resolve("mosquitto.log")) : ""));
            }
            if (TestServices.answers("127.0.0.1", port)) {
                return;
            }
            try {
                process.waitFor(100, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("mosquitto did not listen on " + port + " within 10 s");
    }

    /** @return {@code tcp://127.0.0.1:<port>} */
    public String url() {
        return "tcp://127.0.0.1:" + port;
    }

    /** @return the broker's log so far */
    public String log() throws IOException {
        Path f = dir.resolve("mosquitto.log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
