package org.infoscreen.fleet.mqtt;

import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttClient;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps one Paho client connected, in place of Paho's automatic reconnect: every attempt (the
 * first and each reconnect) builds fresh connection options, so a rotated password file or TLS
 * file is read again, and every failed attempt is reported to the {@link MqttConnectionMonitor}
 * with its reason (Paho's own reconnect hides both). Reconnect attempts back off from 1 s,
 * doubling up to the endpoint's {@code maxReconnectDelay}. Every attempt waits at most the
 * endpoint's {@code connectionTimeout} (seconds) for the CONNACK and is aborted when it fails, so
 * a broker that accepts the connection but never answers cannot end the reconnect loop.
 */
final class MqttConnection {

    private static final Logger LOG = LoggerFactory.getLogger(MqttConnection.class);
    private static final long FIRST_DELAY_MS = 1_000;
    /** CONNACK wait when the endpoint sets {@code connectionTimeout=0} (Paho: no limit), seconds. */
    private static final int DEFAULT_CONNECT_TIMEOUT_S = 30;

    /** Runs after each successful connect (e.g. to subscribe); an exception drops the connection and counts as a failure. */
    interface OnConnected {
        void connected(IMqttToken token, boolean reconnect) throws MqttException;
    }

    private final SessionSafePahoMqtt5Component.SessionSafeEndpoint endpoint;
    private final MqttClient client;
    private final MqttConnectionMonitor monitor;
    private final ScheduledExecutorService executor;
    private final OnConnected onConnected;
    private volatile Runnable beforeAttempt = () -> { };
    private final long maxDelayMs;
    private final boolean reconnect;
    private volatile boolean active;
    private long delayMs = FIRST_DELAY_MS;
    private String lastReason;

    MqttConnection(SessionSafePahoMqtt5Component.SessionSafeEndpoint endpoint, MqttClient client, ScheduledExecutorService executor,
                   OnConnected onConnected) {
        this.endpoint = endpoint;
        this.client = client;
        this.monitor = endpoint.connectionMonitor();
        this.executor = executor;
        this.onConnected = onConnected;
        this.maxDelayMs = Math.max(FIRST_DELAY_MS, endpoint.getConfiguration().getMaxReconnectDelay());
        this.reconnect = endpoint.getConfiguration().isAutomaticReconnect();
    }

    /**
     * @param hook runs before every connection attempt (e.g. to forget the unacknowledged messages
     *             of the previous connection: the broker delivers them again)
     */
    void beforeEachAttempt(Runnable hook) {
        this.beforeAttempt = hook;
    }

    /**
     * First connect; failures are counted and thrown (the route controller retries a consumer
     * start, the next command retries a producer start). After a failure the connection stays
     * wanted in the monitor (health reports it) but this object does not reconnect.
     *
     * @return the CONNACK token (session present)
     * @throws MqttException when the attempt fails
     */
    IMqttToken connect() throws MqttException {
        active = true;
        monitor.starting(client.getClientId());
        try {
            return attempt(false);
        } catch (MqttException | RuntimeException e) {
            active = false;
            throw e;
        }
    }

    private IMqttToken attempt(boolean isReconnect) throws MqttException {
        String id = client.getClientId();
        IMqttToken token;
        try {
            MqttConnectionOptions options = endpoint.connectionOptions();
            beforeAttempt.run();
            token = connectBounded(options);
        } catch (MqttException e) {
            lastReason = monitor.failed(id, e);
            throw e;
        }
        monitor.connected(id);
        try {
            onConnected.connected(token, isReconnect);
        } catch (MqttException | RuntimeException e) {
            lastReason = monitor.failed(id, e);
            disconnectQuietly();
            throw e;
        }
        lastReason = null;
        return token;
    }

    /**
     * One CONNECT that waits at most the endpoint's {@code connectionTimeout} for the CONNACK:
     * Paho applies that timeout only to the TCP connect and, by default, waits for the CONNACK
     * without limit, so a broker (or proxy) that accepts the connection and never answers would
     * stop the reconnect loop for good. A failed attempt is aborted (its socket closed): otherwise
     * Paho still counts it as in progress and refuses every later one ("Connect already in progress").
     */
    private IMqttToken connectBounded(MqttConnectionOptions options) throws MqttException {
        int timeoutS = options.getConnectionTimeout() > 0 ? options.getConnectionTimeout() : DEFAULT_CONNECT_TIMEOUT_S;
        long previousWait = client.getTimeToWait();
        client.setTimeToWait(TimeUnit.SECONDS.toMillis(timeoutS));
        try {
            return client.connectWithResult(options);
        } catch (MqttException e) {
            abortAttempt();
            throw e;
        } finally {
            client.setTimeToWait(previousWait);
        }
    }

    private void abortAttempt() {
        if (client.isConnected()) {
            return;
        }
        try {
            client.disconnectForcibly(0, 0, false);
        } catch (MqttException | RuntimeException e) {
            LOG.debug("aborting a failed connection attempt of {}: {}", client.getClientId(), e.getMessage());
        }
    }

    /** Paho reports that the connection was lost: reconnect in the background unless stopped. */
    void lost(Throwable cause) {
        monitor.lost(client.getClientId());
        if (active && reconnect) {
            LOG.warn("MQTT client {} lost its connection to {}: {}; reconnecting", client.getClientId(),
                    endpoint.getConfiguration().getBrokerUrl(), cause == null ? "closed by the broker" : MqttConnectionMonitor.describe(cause));
            schedule(FIRST_DELAY_MS);
        }
    }

    private synchronized void schedule(long delay) {
        delayMs = delay;
        if (!executor.isShutdown()) {
            executor.schedule(this::reconnect, delay, TimeUnit.MILLISECONDS);
        }
    }

    private void reconnect() {
        if (!active || client.isConnected()) {
            return;
        }
        String before = lastReason;
        try {
            attempt(true);
            delayMs = FIRST_DELAY_MS;
            LOG.info("MQTT client {} reconnected to {}", client.getClientId(), endpoint.getConfiguration().getBrokerUrl());
        } catch (MqttException | RuntimeException e) {
            if (!active) {
                return;
            }
            long next = Math.min(delayMs * 2, maxDelayMs);
            String message = "MQTT client {} could not reconnect to {} ({}): {}; next attempt in {} ms";
            Object[] args = {client.getClientId(), endpoint.getConfiguration().getBrokerUrl(), lastReason,
                    MqttConnectionMonitor.describe(e), next};
            if (lastReason != null && lastReason.equals(before) && delayMs >= maxDelayMs) {
                LOG.debug(message, args); // the same failure again at the longest interval: once at WARN is enough
            } else {
                LOG.warn(message, args);
            }
            schedule(next);
        }
    }

    /** Stops reconnecting (the owner disconnects and closes the client). */
    void stop() {
        active = false;
        monitor.stopped(client.getClientId());
    }

    private void disconnectQuietly() {
        try {
            if (client.isConnected()) {
                client.disconnect();
            }
        } catch (MqttException e) {
            LOG.debug("disconnecting after a failed set-up: {}", e.getMessage());
        }
    }
}
