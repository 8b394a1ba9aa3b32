package org.infoscreen.fleet.health;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;

/**
 * Readiness check {@code fleet-database}: UP when the database answers {@code Connection.isValid}
 * within 1 s on a connection of the small health pool, DOWN otherwise (at most about 2 s: the
 * health pool's connection timeout). Details: {@code reachable}, {@code response_ms}, and the
 * service pool's {@code pool_active}, {@code pool_idle}, {@code pool_waiting} (requests waiting
 * for a connection: the pool is too small or the database too slow), {@code pool_max}. On failure
 * the message names the error class and SQLState only, never the URL or user.
 */
public class DatabaseHealthCheck extends AbstractHealthCheck {

    private final HikariDataSource dataSource;
    private final HikariDataSource probe;

    /**
     * @param dataSource the service's pool (its state is reported)
     * @param probe      the health pool (short connection timeout) used to reach the database
     */
    public DatabaseHealthCheck(HikariDataSource dataSource, HikariDataSource probe) {
        super("fleet", "fleet-database");
        this.dataSource = dataSource;
        this.probe = probe;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        long start = System.nanoTime();
        HikariPoolMXBean pool = dataSource.getHikariPoolMXBean();
        if (pool != null) {
            builder.detail("pool_active", pool.getActiveConnections());
            builder.detail("pool_idle", pool.getIdleConnections());
            builder.detail("pool_waiting", pool.getThreadsAwaitingConnection());
        }
        builder.detail("pool_max", dataSource.getMaximumPoolSize());
        try (Connection c = probe.getConnection()) {
            boolean valid = c.isValid(1);
            builder.detail("reachable", valid);
            builder.detail("response_ms", (System.nanoTime() - start) / 1_000_000);
            if (valid) {
                builder.up();
            } else {
                builder.message("database connection did not answer within 1 s");
                builder.down();
            }
        } catch (SQLException e) {
            builder.detail("reachable", false);
            builder.detail("response_ms", (System.nanoTime() - start) / 1_000_000);
            builder.message("database unreachable (" + e.getClass().getSimpleName()
                    + (e.getSQLState() != null ? ", SQLState " + e.getSQLState() : "") + ")");
            builder.down();
        }
    }
}
