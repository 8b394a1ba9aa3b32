package org.infoscreen.fleet.mqtt;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Sends the manual acknowledgements (PUBACK) of one MQTT connection in the order the messages
 * arrived, whatever order their processing finishes in. MQTT requires a client to acknowledge QoS 1
 * messages in arrival order (MQTT 5 §4.6; Paho and Mosquitto rely on it), but the ingest finishes
 * an event (committed at once) before a snapshot that waits for its batch: the event's ack then
 * waits until the snapshot's batch has committed too.
 *
 * <p>A {@link Ticket} is taken when a message arrives ({@link #arrived}); {@link Ticket#done()}
 * marks it processed; every ticket at the head of the queue that is done is acknowledged. A
 * ticket that is never done (processing keeps failing) holds back the acks behind it, so nothing
 * after an unstored message is acknowledged either. {@link #reset()} starts a new connection:
 * tickets of the old one are never acknowledged (a message id means another message on the new
 * connection; the broker redelivers the old ones). Thread-safe; acks are sent while holding the
 * lock, so they leave in order.
 */
public final class AckSequencer {

    /** Sends one acknowledgement (Paho {@code messageArrivedComplete}). */
    @FunctionalInterface
    public interface Acknowledger {
        /**
         * @param messageId MQTT packet identifier
         * @param qos       QoS of the delivery (1 or 2)
         * @throws Exception when the ack cannot be sent (connection lost): the broker redelivers the message
         */
        void ack(int messageId, int qos) throws Exception;
    }

    /** One arrived message waiting for its acknowledgement. */
    public final class Ticket {
        private final long generation;
        private final int messageId;
        private final int qos;
        private boolean done;

        private Ticket(long generation, int messageId, int qos) {
            this.generation = generation;
            this.messageId = messageId;
            this.qos = qos;
        }

        /** The message is stored (or quarantined): acknowledge it as soon as every earlier one is. Idempotent. */
        public void done() {
            AckSequencer.this.done(this);
        }

        /** @return the MQTT packet identifier */
        public int messageId() {
            return messageId;
        }
    }

    private final Acknowledger acknowledger;
    private final Deque<Ticket> waiting = new ArrayDeque<>();
    private long generation;
    private long acked;
    private AckFailureListener failureListener = (id, e) -> { };

    /** Told when an acknowledgement could not be sent. */
    @FunctionalInterface
    public interface AckFailureListener {
        void failed(int messageId, Exception e);
    }

    /** @param acknowledger sends one acknowledgement */
    public AckSequencer(Acknowledger acknowledger) {
        this.acknowledger = acknowledger;
    }

    /** @param listener told when an ack cannot be sent (it is not retried: the broker redelivers) */
    public synchronized void onAckFailure(AckFailureListener listener) {
        this.failureListener = listener;
    }

    /**
     * A message arrived on the current connection.
     *
     * @param messageId MQTT packet identifier
     * @param qos       delivery QoS; QoS 0 needs no acknowledgement
     * @return its ticket, or {@code null} for QoS 0
     */
    public synchronized Ticket arrived(int messageId, int qos) {
        if (qos <= 0) {
            return null;
        }
        Ticket t = new Ticket(generation, messageId, qos);
        waiting.addLast(t);
        return t;
    }

    private synchronized void done(Ticket t) {
        if (t.generation != generation || t.done) {
            return;
        }
        t.done = true;
        while (!waiting.isEmpty() && waiting.peekFirst().done) {
            Ticket head = waiting.removeFirst();
            try {
                acknowledger.ack(head.messageId, head.qos);
                acked++;
            } catch (Exception e) {
                failureListener.failed(head.messageId, e);
            }
        }
    }

    /** A new connection: forget every ticket of the old one (they are never acknowledged). */
    public synchronized void reset() {
        generation++;
        waiting.clear();
    }

    /** @return messages of the current connection not acknowledged yet */
    public synchronized int outstanding() {
        return waiting.size();
    }

    /** @return acknowledgements sent since start */
    public synchronized long acknowledged() {
        return acked;
    }
}
