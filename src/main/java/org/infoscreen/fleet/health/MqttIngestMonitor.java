package org.infoscreen.fleet.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the MQTT ingest consumer knows about its own connection, shared with the readiness check
 * and the metrics: connected since when, whether the subscription is in place, when the last
 * message (any message, the service's own self-probes included) arrived, and how many reconnects
 * and watchdog resubscribes happened. Written by the consumer's threads, read by health and
 * metrics; thread-safe. Times are UTC instants.
 *
 * <p>Why the age of the last message matters: camel-paho-mqtt5 4.17 (and a resubscribe that the
 * broker refuses) can leave a consumer that looks connected and receives nothing. The service
 * publishes a small probe to {@code <prefix>/_service/probe/<clientId>} every few seconds, inside
 * its own subscription, so "no message for {@code maxSilence}" means the consumer is deaf, also
 * on a quiet fleet.
 */
public class MqttIngestMonitor {

    private final Clock clock;
    private final String probeTopicPrefix;
    private final Duration maxSilence;
    private final Duration resubscribeAfter;
    private final Instant createdAt;
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong resubscribes = new AtomicLong();
    private final AtomicLong probesReceived = new AtomicLong();
    private volatile boolean connected;
    private volatile boolean subscribed;
    private volatile Instant connectedSince;
    private volatile Instant disconnectedAt;
    private volatile Instant lastMessageAt;
    private volatile Instant lastProbeAt;
    private volatile Instant lastResubscribeAt;
    private volatile String lastProblem;

    /**
     * @param topicPrefix      the service's topic prefix; probes are on {@code <prefix>/_service/probe/…}
     * @param maxSilence       readiness turns DOWN when the connected consumer received nothing for this long
     * @param resubscribeAfter the consumer's watchdog resubscribes after this long without a message; zero = never
     */
    public MqttIngestMonitor(String topicPrefix, Duration maxSilence, Duration resubscribeAfter) {
        this(Clock.systemUTC(), topicPrefix, maxSilence, resubscribeAfter);
    }

    MqttIngestMonitor(Clock clock, String topicPrefix, Duration maxSilence, Duration resubscribeAfter) {
        this.clock = clock;
        this.probeTopicPrefix = probeTopicPrefix(topicPrefix);
        this.maxSilence = maxSilence;
        this.resubscribeAfter = resubscribeAfter;
        this.createdAt = clock.instant();
    }

    /** The consumer connected (first time or again after a loss). */
    public void connected(boolean reconnect) {
        connected = true;
        connectedSince = clock.instant();
        if (reconnect) {
            reconnects.incrementAndGet();
        }
    }

    /** The consumer lost its connection or was stopped. */
    public void disconnected(String why) {
        connected = false;
        subscribed = false;
        disconnectedAt = clock.instant();
        lastProblem = why;
    }

    /** The subscription is in place ({@code true}) or could not be made ({@code false}, with the reason). */
    public void subscribed(boolean ok, String problem) {
        subscribed = ok;
        if (!ok) {
            lastProblem = problem;
        }
    }

    /** @return the topic prefix of the service's self-probes: {@code <prefix>/_service/probe/} */
    public static String probeTopicPrefix(String topicPrefix) {
        return (topicPrefix.endsWith("/") ? topicPrefix : topicPrefix + "/") + "_service/probe/";
    }

    /** @return the self-probe topic of the ingest client {@code clientId}: {@code <prefix>/_service/probe/<clientId>} */
    public String probeTopic(String clientId) {
        return probeTopicPrefix + clientId;
    }

    /** A message arrived on the subscription (a self-probe when its topic is under {@link #probeTopicPrefix(String)}). */
    public void messageReceived(String topic) {
        boolean probe = topic != null && topic.startsWith(probeTopicPrefix);
        Instant now = clock.instant();
        lastMessageAt = now;
        if (probe) {
            lastProbeAt = now;
            probesReceived.incrementAndGet();
        }
    }

    /**
     * The watchdog resubscribed because nothing arrived for {@link #resubscribeAfter()}. The next
     * resubscribe waits a full window from now; the silence (readiness, the last-message age) is
     * not reset: the consumer counts as receiving again only once a message actually arrives.
     */
    public void resubscribed() {
        resubscribes.incrementAndGet();
        lastResubscribeAt = clock.instant();
    }

    /**
     * @return time since the last message, or since the consumer connected when none arrived
     *         since; {@code null} while not connected
     */
    public Duration silence() {
        if (!connected) {
            return null;
        }
        Instant from = lastMessageAt;
        Instant since = connectedSince;
        if (from == null || (since != null && since.isAfter(from))) {
            from = since;
        }
        return from == null ? null : Duration.between(from, clock.instant());
    }

    /** @return whether the watchdog should resubscribe now: silent for {@link #resubscribeAfter()}, also since its last resubscribe */
    public boolean resubscribeDue() {
        Duration s = silence();
        if (resubscribeAfter.isZero() || s == null || s.compareTo(resubscribeAfter) <= 0) {
            return false;
        }
        Instant last = lastResubscribeAt;
        return last == null || Duration.between(last, clock.instant()).compareTo(resubscribeAfter) > 0;
    }

    /** @return whether the consumer is connected, subscribed and not silent for longer than {@link #maxSilence()} */
    public boolean receiving() {
        Duration s = silence();
        return connected && subscribed && s != null && s.compareTo(maxSilence) <= 0;
    }

    public boolean isConnected() {
        return connected;
    }

    public boolean isSubscribed() {
        return subscribed;
    }

    public Instant connectedSince() {
        return connectedSince;
    }

    public Instant disconnectedAt() {
        return disconnectedAt;
    }

    public Instant lastMessageAt() {
        return lastMessageAt;
    }

    public Instant lastProbeAt() {
        return lastProbeAt;
    }

    public String lastProblem() {
        return lastProblem;
    }

    public Duration maxSilence() {
        return maxSilence;
    }

    public Duration resubscribeAfter() {
        return resubscribeAfter;
    }

    /** @return reconnects of the consumer since start */
    public long reconnects() {
        return reconnects.get();
    }

    /** @return watchdog resubscribes since start */
    public long resubscribes() {
        return resubscribes.get();
    }

    /** @return self-probes received since start */
    public long probesReceived() {
        return probesReceived.get();
    }

    /** @return when the monitor was created (service start) */
    public Instant createdAt() {
        return createdAt;
    }
}
