package org.infoscreen.fleet.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePropertyKey;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.spi.Synchronization;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The routes' side of the {@link SnapshotCoalescer} (bean {@code snapshotIngest}): route
 * {@code mqtt-ingest} hands each heartbeat and health to {@link #add(Exchange)}, which takes over
 * the exchange's completions (the MQTT acknowledgement) until the batch is committed; before an
 * event of a client it calls {@link #awaitCommitted(UUID)}. A batch is written by route
 * {@code store-snapshots} ({@code direct:storeSnapshots}, one multi-row upsert), with the batch as
 * JSON in header {@code rows} and the message counts in {@code fleetHeartbeats} and
 * {@code fleetHealths}; the ingest latency of each message (receive to commit) goes to the timer
 * {@code fleet.ingest.latency}. Started before the routes, stopped with the context (FleetConfiguration).
 */
public class SnapshotIngest {

    private static final String LATENCY_TIMER = "fleet.ingest.latency";

    private final CamelContext context;
    private final ObjectMapper mapper;
    private final MeterRegistry meters;
    private final SnapshotCoalescer coalescer;
    private volatile ProducerTemplate template;
    private volatile Timer latency;

    /**
     * @param context       the Camel context whose {@code direct:storeSnapshots} writes a batch
     * @param mapper        Jackson mapper for the batch JSON
     * @param meters        registry of the {@code fleet.ingest.latency} timer
     * @param maxClients    most clients per batch ({@code INGEST_BATCH_SIZE})
     * @param window        flush window ({@code INGEST_FLUSH_MS})
     * @param retryMaxDelay longest pause before a failed batch is written again ({@code INGEST_RETRY_MAX_DELAY_MS})
     */
    public SnapshotIngest(CamelContext context, ObjectMapper mapper, MeterRegistry meters, int maxClients, Duration window,
                          Duration retryMaxDelay) {
        this.context = context;
        this.mapper = mapper;
        this.meters = meters;
        this.coalescer = new SnapshotCoalescer(maxClients, window, retryMaxDelay, this::write);
    }

    /**
     * Adds the parsed snapshot in the body ({@link DeviceMessageParser#parse}) to the next batch and
     * takes over the exchange's completions: they run when the batch is committed, or fail when it
     * is abandoned at stop. Exchange property {@code CamelBatchComplete} = nothing more waits: write now.
     *
     * @param exchange the ingest exchange whose body is the parsed heartbeat or health
     */
    @SuppressWarnings("unchecked")
    public void add(Exchange exchange) {
        Map<String, Object> snapshot = exchange.getMessage().getBody(Map.class);
        boolean nothingWaiting = exchange.getProperty(ExchangePropertyKey.BATCH_COMPLETE, false, Boolean.class);
        List<Synchronization> completions = exchange.getExchangeExtension().handoverCompletions();
        coalescer.add(snapshot, nothingWaiting, new SnapshotCoalescer.Completion() {
            @Override
            public void committed() {
                if (completions != null) {
                    completions.forEach(s -> s.onComplete(exchange));
                }
            }

            @Override
            public void abandoned() {
                if (completions != null) {
                    completions.forEach(s -> s.onFailure(exchange));
                }
            }
        });
    }

    /**
     * Waits until the snapshots of {@code client} that arrived before are committed (so an event is
     * stored after them).
     *
     * @param client the client's UUID
     * @throws StoreUnavailableException when the service stops meanwhile
     */
    public void awaitCommitted(UUID client) {
        coalescer.awaitCommitted(client);
    }

    /**
     * Records receive → commit of a stored event in the timer {@code fleet.ingest.latency} (the
     * snapshots are timed by their batch), from header {@code fleetReceivedAt} (UTC) to now.
     *
     * @param exchange the ingest exchange after the event's commit
     */
    public void recordLatency(Exchange exchange) {
        OffsetDateTime at = exchange.getMessage().getHeader("fleetReceivedAt", OffsetDateTime.class);
        if (at != null) {
            latencyTimer().record(Duration.between(at, OffsetDateTime.now()));
        }
    }

    /** @return clients whose snapshot waits for or is in a batch write */
    public int pendingClients() {
        return coalescer.pendingClients();
    }

    private void write(SnapshotCoalescer.Batch batch) throws Exception {
        ArrayNode rows = mapper.createArrayNode();
        for (Map<String, Object> r : batch.rows()) {
            ObjectNode row = rows.addObject();
            row.put("uuid", r.get("uuid").toString());
            row.put("kind", (String) r.get("kind"));
            row.put("received_at", text(r.get("received_at")));
            row.put("device_ts", text(r.get("device_ts")));
            row.put("process_status", (String) r.get("process_status"));
            row.put("boot_id", (String) r.get("boot_id"));
            row.put("hostname", (String) r.get("hostname"));
            row.put("ip", (String) r.get("ip"));
            row.put("app_version", (String) r.get("app_version"));
            Object health = r.get("health");
            if (health == null) {
                row.putNull("health");
            } else {
                row.putRawValue("health", new RawValue(health.toString()));
            }
            row.put("health_received_at", text(r.get("health_received_at")));
            Object reconnects = r.get("mqtt_reconnect_count");
            if (reconnects == null) {
                row.putNull("mqtt_reconnect_count");
            } else {
                row.put("mqtt_reconnect_count", ((Number) reconnects).intValue());
            }
            row.put("mqtt_last_disconnect_at", text(r.get("mqtt_last_disconnect_at")));
        }
        Exchange result = template().request("direct:storeSnapshots", e -> {
            e.getMessage().setHeader("rows", mapper.writeValueAsString(rows));
            e.getMessage().setHeader("fleetHeartbeats", batch.heartbeats());
            e.getMessage().setHeader("fleetHealths", batch.healths());
        });
        if (result.getException() != null) {
            throw result.getException();
        }
        OffsetDateTime now = OffsetDateTime.now();
        Timer timer = latencyTimer();
        for (OffsetDateTime at : batch.receivedAt()) {
            if (at != null) {
                timer.record(Duration.between(at, now));
            }
        }
    }

    private synchronized ProducerTemplate template() {
        if (template == null) {
            template = context.createProducerTemplate();
        }
        return template;
    }

    private Timer latencyTimer() {
        Timer t = latency;
        if (t == null) {
            // the same timer the micrometer component records events in (tag camelContext)
            t = meters.find(LATENCY_TIMER).timer();
            if (t == null) {
                t = Timer.builder(LATENCY_TIMER).tag("camelContext", context.getName()).register(meters);
            }
            latency = t;
        }
        return t;
    }

    private static String text(Object time) {
        return time == null ? null : time.toString();
    }

    /** Starts the batch writer thread (before the routes start). */
    public void start() {
        coalescer.start();
    }

    /**
     * Stops the batch writer; snapshots not committed yet stay unacknowledged (redelivered later).
     * Not a Camel {@code Service} on purpose: a bean processor would stop it with the route.
     *
     * @throws InterruptedException when interrupted while waiting for the writer thread
     */
    public void stop() throws InterruptedException {
        coalescer.stop();
        ProducerTemplate t = template;
        template = null;
        if (t != null) {
            t.stop();
        }
    }
}
