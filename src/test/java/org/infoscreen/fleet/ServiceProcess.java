package org.infoscreen.fleet;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * The service as its own JVM process, for tests that kill it, restart it or run two instances:
 * {@code java -cp <test classpath> org.infoscreen.fleet.Application}, started in the repository
 * root (so it loads the real {@code routes/}), configured only through environment variables as a
 * deployment would be. Output goes to a log file that {@link #log()} reads.
 *
 * <pre>{@code
 * try (ServiceProcess s = ServiceProcess.start(Map.of("DATABASE_URL", ..., "MQTT_URL", ...))) {
 *     s.awaitHealthy(Duration.ofSeconds(60));
 *     s.kill();               // SIGKILL: no shutdown hooks, no clean MQTT disconnect
 * }
 * }</pre>
 */
public final class ServiceProcess implements AutoCloseable {

    private final Process process;
    private final int httpPort;
    private final Path logFile;
    private final String adminToken;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private ServiceProcess(Process process, int httpPort, Path logFile, String adminToken) {
        this.process = process;
        this.httpPort = httpPort;
        this.logFile = logFile;
        this.adminToken = adminToken;
    }

    /**
     * Starts the service. {@code HTTP_PORT} is chosen free unless {@code env} sets it;
     * {@code HTTP_HOST} defaults to {@code 127.0.0.1}. Unless {@code env} configures API tokens
     * (or switches authentication off), {@code API_TOKENS} holds one admin token ({@link #adminToken()}),
     * and a bootstrap admin token would go to a temporary file, never to the checkout's
     * {@code data/admin-token}. The test JVM's environment is inherited, {@code env} wins.
     *
     * @param env environment variables of the service (e.g. {@code DATABASE_URL}, {@code DATABASE_SCHEMA},
     *            {@code MQTT_URL}, {@code MQTT_CLIENT_ID}, {@code MQTT_TOPIC_PREFIX})
     * @return the started (not yet healthy) process
     */
    public static ServiceProcess start(Map<String, String> env) {
        return start(env, List.of("-Xmx512m"));
    }

    /**
     * Like {@link #start(Map)} with the given JVM options instead of the default {@code -Xmx512m}
     * (the benchmark measures the service's RSS with the heap it documents).
     *
     * @param env     environment variables of the service
     * @param jvmArgs options for the {@code java} command, e.g. {@code -Xmx256m}
     * @return the started (not yet healthy) process
     */
    public static ServiceProcess start(Map<String, String> env, List<String> jvmArgs) {
        Map<String, String> e = new LinkedHashMap<>(env);
        e.putIfAbsent("HTTP_PORT", String.valueOf(TestServices.freePort()));
        e.putIfAbsent("HTTP_HOST", "127.0.0.1");
        int port = Integer.parseInt(e.get("HTTP_PORT"));
        String adminToken = null;
        if (!e.containsKey("API_TOKENS") && !e.containsKey("API_TOKENS_FILE") && !"false".equals(e.get("API_AUTH_ENABLED"))) {
            adminToken = org.infoscreen.fleet.security.ApiToken.newToken();
            e.put("API_TOKENS", org.infoscreen.fleet.security.ApiToken.configLine("test-admin",
                    org.infoscreen.fleet.security.Role.ADMIN, adminToken));
        }
        try {
            Path logFile = Files.createTempFile("fleet-service-" + port + "-", ".log");
            e.putIfAbsent("API_BOOTSTRAP_TOKEN_FILE", logFile.resolveSibling(logFile.getFileName() + ".admin-token").toString());
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // the surefire class path (a manifest-only jar naming every entry also works with -cp)
            List<String> command = new java.util.ArrayList<>();
            command.add(java);
            command.addAll(jvmArgs);
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.infoscreen.fleet.Application"));
            ProcessBuilder pb = new ProcessBuilder(command)
                    .directory(Path.of(System.getProperty("user.dir")).toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            pb.environment().putAll(e);
            return new ServiceProcess(pb.start(), port, logFile, adminToken);
        } catch (IOException ex) {
            throw new IllegalStateException("cannot start the service process", ex);
        }
    }

    /**
     * Waits until {@code /observe/health} answers 200.
     *
     * @param atMost how long to wait
     * @return this
     * @throws org.awaitility.core.ConditionTimeoutException when it does not, with the log tail in the message
     */
    public ServiceProcess awaitHealthy(Duration atMost) {
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(250)).until(() -> {
                if (!process.isAlive()) {
                    throw new IllegalStateException("service exited with " + process.exitValue() + ":\n" + logTail());
                }
                return status("/observe/health") == 200;
            });
        } catch (org.awaitility.core.ConditionTimeoutException ex) {
            throw new IllegalStateException("service not healthy within " + atMost + ":\n" + logTail(), ex);
        }
        return this;
    }

    /** @return the HTTP status of a GET on {@code path}, or -1 when nothing answers */
    public int status(String path) {
        try {
            HttpRequest r = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(5)).GET().build();
            return http.send(r, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException ex) {
            return -1;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /**
     * @return the admin API token this process accepts ({@code test-admin}), or null when the
     *         caller configured the tokens
     */
    public String adminToken() {
        return adminToken;
    }

    /** @return {@code http://127.0.0.1:<port>} */
    public String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** @return the service's HTTP port */
    public int httpPort() {
        return httpPort;
    }

    /** @return the operating-system process id */
    public long pid() {
        return process.pid();
    }

    /** @return whether the process is still running */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** @return everything the service has printed so far */
    public String log() {
        try {
            return Files.readString(logFile);
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private String logTail() {
        String l = log();
        return l.length() > 4000 ? l.substring(l.length() - 4000) : l;
    }

    /**
     * Stops the service as {@code docker stop} would (SIGTERM, graceful shutdown) and waits for it.
     *
     * @param atMost how long to wait before it is killed
     * @return the exit code
     */
    public int stop(Duration atMost) {
        process.destroy();
        return waitFor(atMost);
    }

    /** Sends SIGTERM (graceful shutdown) and returns at once; {@link #isAlive()} tells when it has exited. */
    public void terminate() {
        process.destroy();
    }

    /**
     * Kills the service with SIGKILL: no shutdown hooks, no MQTT DISCONNECT, open transactions are
     * rolled back by PostgreSQL, as after a power cut.
     *
     * @return the exit code (137 on Linux)
     */
    public int kill() {
        process.destroyForcibly();
        return waitFor(Duration.ofSeconds(10));
    }

    private int waitFor(Duration atMost) {
        try {
            if (!process.waitFor(atMost.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
            return process.exitValue();
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            stop(Duration.ofSeconds(20));
        }
    }
}
