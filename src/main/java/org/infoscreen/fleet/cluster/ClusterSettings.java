package org.infoscreen.fleet.cluster;

import java.util.Locale;
import java.util.Properties;

/**
 * What makes several instances of the service on one database and broker work as one
 * (docs/scaling.md), as pure functions of the settings: the instance id, the MQTT client id
 * derived from it, the ingest subscription (an MQTT 5 shared subscription, spec §4.8.2) and the
 * Quartz properties of the clustered JDBC job store.
 */
public final class ClusterSettings {

    /** Prefix of the default MQTT client id: {@code infoscreen-fleet-<instance id>}. */
    public static final String CLIENT_ID_PREFIX = "infoscreen-fleet-";

    private ClusterSettings() {
    }

    /**
     * @param configured {@code FLEET_INSTANCE_ID}, may be blank
     * @param hostName   this machine's (or container's) host name, may be blank
     * @return the configured id, else the host name, reduced to {@code [A-Za-z0-9._-]} (other
     *         characters become {@code -}); {@code "1"} when both are blank
     */
    public static String instanceId(String configured, String hostName) {
        String id = configured != null && !configured.isBlank() ? configured.strip()
                : hostName != null && !hostName.isBlank() ? hostName.strip().toLowerCase(Locale.ROOT) : "1";
        return id.replaceAll("[^A-Za-z0-9._-]", "-");
    }

    /**
     * @param configured {@code MQTT_CLIENT_ID}, may be blank
     * @param instanceId {@link #instanceId(String, String)}
     * @return the configured client id, else {@code infoscreen-fleet-<instance id>}: stable across
     *         restarts of one instance (its persistent session is kept), different per instance
     */
    public static String clientId(String configured, String instanceId) {
        return configured != null && !configured.isBlank() ? configured.strip() : CLIENT_ID_PREFIX + instanceId;
    }

    /**
     * @param topicPrefix the device topic prefix (e.g. {@code infoscreen})
     * @param sharedGroup {@code MQTT_SHARED_GROUP}; blank = no sharing
     * @return {@code $share/<group>/<prefix>/#}, or {@code <prefix>/#} without a group
     * @throws IllegalArgumentException when the group holds {@code /}, {@code +} or {@code #} (MQTT 5 §4.8.2)
     */
    public static String ingestSubscription(String topicPrefix, String sharedGroup) {
        String prefix = topicPrefix.endsWith("/") ? topicPrefix.substring(0, topicPrefix.length() - 1) : topicPrefix;
        if (sharedGroup == null || sharedGroup.isBlank()) {
            return prefix + "/#";
        }
        String group = sharedGroup.strip();
        if (group.contains("/") || group.contains("+") || group.contains("#")) {
            throw new IllegalArgumentException("MQTT_SHARED_GROUP '" + group
                    + "' must not contain '/', '+' or '#' (MQTT 5 shared subscription share name)");
        }
        return "$share/" + group + "/" + prefix + "/#";
    }

    /** @return whether {@code topicFilter} is an MQTT 5 shared subscription ({@code $share/<group>/<filter>}) */
    public static boolean isShared(String topicFilter) {
        return topicFilter != null && topicFilter.startsWith("$share/");
    }

    /**
     * Quartz properties of the clustered JDBC job store on PostgreSQL (Quartz 2.5 configuration
     * reference, "Configure Clustering with JDBC-JobStore"): every instance uses the same scheduler
     * name and its own generated instance id; the tables are {@code qrtz_*} in the service's schema
     * (migration V12); connections come from {@code dataSourceName}, a provider registered with
     * Quartz's {@code DBConnectionManager}.
     *
     * @param schedulerName     the one scheduler name of all instances (column {@code sched_name})
     * @param dataSourceName    name of the registered connection provider
     * @param threadCount       worker threads (at most this many sweeps run at once on an instance)
     * @param checkinIntervalMs how often an instance checks in; a silent instance is taken over
     *                          after about this plus 7.5 s
     * @param misfireThresholdMs a trigger later than this is a misfire and handled by its misfire
     *                           instruction (the sweeps skip to the next time), not fired late
     */
    public static Properties quartzProperties(String schedulerName, String dataSourceName, int threadCount,
                                              long checkinIntervalMs, long misfireThresholdMs) {
        Properties p = new Properties();
        p.setProperty("org.quartz.scheduler.instanceName", schedulerName);
        p.setProperty("org.quartz.scheduler.instanceId", "AUTO");
        p.setProperty("org.quartz.scheduler.skipUpdateCheck", "true");
        p.setProperty("org.quartz.threadPool.class", "org.quartz.simpl.SimpleThreadPool");
        p.setProperty("org.quartz.threadPool.threadCount", String.valueOf(threadCount));
        p.setProperty("org.quartz.threadPool.threadNamePrefix", "fleet-quartz");
        p.setProperty("org.quartz.jobStore.class", "org.quartz.impl.jdbcjobstore.JobStoreTX");
        p.setProperty("org.quartz.jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
        p.setProperty("org.quartz.jobStore.dataSource", dataSourceName);
        p.setProperty("org.quartz.jobStore.tablePrefix", "qrtz_");
        p.setProperty("org.quartz.jobStore.isClustered", "true");
        p.setProperty("org.quartz.jobStore.clusterCheckinInterval", String.valueOf(checkinIntervalMs));
        p.setProperty("org.quartz.jobStore.misfireThreshold", String.valueOf(misfireThresholdMs));
        p.setProperty("org.quartz.jobStore.acquireTriggersWithinLock", "true");
        // after a database outage the sweeps resume within 2 s, not Quartz's default 15 s
        p.setProperty("org.quartz.jobStore.dbRetryInterval", "2000");
        return p;
    }
}
