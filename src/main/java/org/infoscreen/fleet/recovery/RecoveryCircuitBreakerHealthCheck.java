package org.infoscreen.fleet.recovery;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;

/**
 * Health check {@code fleet-recovery}: UP with a warning message and details when the fleet
 * circuit breaker has paused crash auto-recovery (many clients stale at once: a network or
 * broker outage is suspected), so monitoring sees why no recovery happens. Readiness only; it
 * never takes the service DOWN, since pausing is the intended reaction.
 */
public class RecoveryCircuitBreakerHealthCheck extends AbstractHealthCheck {

    private final DataSource dataSource;
    private final boolean enabled;

    /**
     * @param dataSource the service's pool
     * @param enabled    whether crash auto-recovery is switched on
     */
    public RecoveryCircuitBreakerHealthCheck(DataSource dataSource, boolean enabled) {
        super("fleet", "fleet-recovery");
        this.dataSource = dataSource;
        this.enabled = enabled;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("recovery_enabled", enabled);
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT recovery_paused, recovery_paused_since, CAST(recovery_paused_detail AS text) FROM fleet_state WHERE id = 1");
             ResultSet rs = ps.executeQuery()) {
            boolean paused = enabled && rs.next() && rs.getBoolean(1);
            builder.detail("recovery_paused", paused);
            if (paused) {
                builder.detail("recovery_paused_since", String.valueOf(rs.getTimestamp(2).toInstant()));
                builder.detail("recovery_paused_detail", rs.getString(3));
                builder.message("WARNING: crash auto-recovery is paused by the fleet circuit breaker: "
                        + "more than the threshold share of recently seen displays are stale (network or broker outage?)");
            }
            builder.up();
        } catch (SQLException e) {
            builder.message("cannot read the recovery state: " + e.getMessage());
            builder.down();
        }
    }
}
