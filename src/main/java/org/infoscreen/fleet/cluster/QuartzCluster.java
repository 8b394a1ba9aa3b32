package org.infoscreen.fleet.cluster;

import org.apache.camel.CamelContext;
import org.apache.camel.component.quartz.QuartzComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.quartz.utils.ConnectionProvider;
import org.quartz.utils.DBConnectionManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import java.util.UUID;

/**
 * Puts camel-quartz (the {@code quartz:} sweeps) on Quartz's clustered JDBC job store in
 * PostgreSQL: each sweep then runs once per cycle across all instances, and when an instance dies
 * another one takes its triggers over (docs/scaling.md).
 *
 * <p>Quartz gets its connections from a pool of its own (given here; the service's pool serves
 * ingest and REST, and Quartz's scheduler, misfire and cluster threads must not wait behind them),
 * registered with Quartz's {@link DBConnectionManager} under a name unique to this Camel context.
 * When the Camel context starts stopping, the scheduler goes to standby (no trigger fires against
 * a stopping route; in a cluster the other instances fire them). It is shut down, waiting for a
 * running sweep, when the Camel context stops, also when
 * camel-quartz would keep it (it does while a job of a route that never started is registered), so
 * no Quartz thread outlives the service; then the pool is closed.
 */
public final class QuartzCluster {

    private static final Logger LOG = LoggerFactory.getLogger(QuartzCluster.class);

    private QuartzCluster() {
    }

    /**
     * Configures the {@code quartz} component of {@code context}; call before the routes start.
     *
     * @param context            the service's Camel context
     * @param pool               Quartz's own connection pool, with the service's schema as search path
     * @param poolCloser         closes {@code pool} after the scheduler has shut down
     * @param schedulerName      one name for all instances
     * @param threadCount        Quartz worker threads
     * @param checkinIntervalMs  cluster check-in interval (milliseconds)
     * @param misfireThresholdMs misfire threshold (milliseconds)
     * @throws Exception when the shutdown service cannot be added to the context
     */
    public static void install(CamelContext context, DataSource pool, AutoCloseable poolCloser, String schedulerName,
                               int threadCount, long checkinIntervalMs, long misfireThresholdMs) throws Exception {
        String dataSourceName = "fleet-" + UUID.randomUUID();
        DBConnectionManager.getInstance().addConnectionProvider(dataSourceName, new PoolConnectionProvider(pool));
        Properties properties = ClusterSettings.quartzProperties(schedulerName, dataSourceName, threadCount,
                checkinIntervalMs, misfireThresholdMs);
        QuartzComponent quartz = context.getComponent("quartz", QuartzComponent.class);
        quartz.setProperties(properties);
        // the scheduler name is the same on every instance, not suffixed with the Camel context's name
        quartz.setPrefixInstanceName(false);
        // from the moment the context starts stopping no trigger fires here (the other instances
        // take them): a sweep that started still finishes, none starts against a stopping route
        context.getManagementStrategy().addEventNotifier(new org.apache.camel.support.SimpleEventNotifierSupport() {
            @Override
            public void notify(org.apache.camel.spi.CamelEvent event) throws Exception {
                Scheduler scheduler = quartz.getScheduler();
                if (scheduler == null || scheduler.isShutdown()) {
                    return;
                }
                if (event instanceof org.apache.camel.spi.CamelEvent.CamelContextStoppingEvent) {
                    scheduler.standby();
                } else if (event instanceof org.apache.camel.spi.CamelEvent.CamelContextRoutesStoppedEvent) {
                    // before the quartz component stops (it would wait without limit, see shutDown)
                    shutDown(scheduler);
                }
            }
        });
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() throws Exception {
                try {
                    Scheduler scheduler = quartz.getScheduler();
                    if (scheduler != null && !scheduler.isShutdown()) {
                        shutDown(scheduler);
                    }
                } finally {
                    poolCloser.close();
                }
            }
        }, true, true);
        LOG.info("Sweeps: clustered Quartz scheduler '{}' on the database (check-in every {} ms)", schedulerName, checkinIntervalMs);
    }

    /**
     * Shuts the scheduler down after the sweep that is running (if any) has finished, waiting at
     * most {@link #SHUTDOWN_WAIT}. Not {@code shutdown(true)}: that joins Quartz's scheduler thread,
     * which retries a job-store write for as long as the database is unreachable, so a service
     * stopped during a database outage never stopped (Quartz ends that retry loop only once its
     * job store is shut down, which {@code shutdown(false)} does without the join).
     */
    private static void shutDown(Scheduler scheduler) {
        try {
            scheduler.standby();
            LOG.info("Shutting down the Quartz scheduler {} (after a running sweep, at most {} s)",
                    scheduler.getSchedulerName(), SHUTDOWN_WAIT.toSeconds());
            long deadline = System.nanoTime() + SHUTDOWN_WAIT.toNanos();
            while (!scheduler.getCurrentlyExecutingJobs().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            scheduler.shutdown(false);
        } catch (SchedulerException e) {
            LOG.warn("Quartz scheduler shutdown: {}", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How long a stop waits for a running sweep before it shuts the scheduler down. */
    private static final java.time.Duration SHUTDOWN_WAIT = java.time.Duration.ofSeconds(30);

    /** Hands Quartz connections of a pool; Quartz commits and closes each one itself. */
    private record PoolConnectionProvider(DataSource pool) implements ConnectionProvider {

        @Override
        public Connection getConnection() throws SQLException {
            return pool.getConnection();
        }

        @Override
        public void shutdown() {
            // the pool is closed with the Camel context (QuartzCluster), after the scheduler
        }

        @Override
        public void initialize() {
            // nothing: the pool exists
        }
    }
}
