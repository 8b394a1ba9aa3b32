-- service_failed from a device: one event per event_id (a QoS 1 duplicate changes nothing, also
-- after an operator cleared the alert), then service_failed_at / service_failed_unit on the client.
-- A live (not retained) message also refreshes liveness; an unknown client is registered.
WITH ev AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, dedup_key, detail)
    VALUES (:#uuid, 'service_failed', :#received_at, :#event_id,
            CAST(:#detail AS jsonb) || jsonb_build_object('device_ts', CAST(:#device_ts AS timestamptz)))
    ON CONFLICT (client_uuid, type, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
    RETURNING id
), up AS (
    INSERT INTO clients AS c (uuid, first_seen_at, last_alive_at, last_device_ts, connection_state,
                              connection_state_since, service_failed_at, service_failed_unit)
    VALUES (:#uuid, :#received_at,
            CASE WHEN CAST(:#retained AS boolean) THEN NULL ELSE CAST(:#received_at AS timestamptz) END,
            CAST(:#device_ts AS timestamptz),
            CASE WHEN CAST(:#retained AS boolean) THEN NULL ELSE 'online' END,
            CASE WHEN CAST(:#retained AS boolean) THEN NULL ELSE CAST(:#received_at AS timestamptz) END,
            :#received_at, :#unit)
    ON CONFLICT (uuid) DO UPDATE SET
        last_alive_at       = CASE WHEN CAST(:#retained AS boolean) THEN c.last_alive_at
                                   ELSE GREATEST(c.last_alive_at, EXCLUDED.last_alive_at) END,
        last_device_ts      = CASE WHEN CAST(:#retained AS boolean) THEN c.last_device_ts
                                   ELSE COALESCE(EXCLUDED.last_device_ts, c.last_device_ts) END,
        connection_state_since = CASE WHEN CAST(:#retained AS boolean) OR c.connection_state = 'online'
                                      THEN c.connection_state_since ELSE EXCLUDED.connection_state_since END,
        connection_state    = CASE WHEN CAST(:#retained AS boolean) THEN c.connection_state ELSE 'online' END,
        service_failed_at   = CASE WHEN EXISTS (SELECT 1 FROM ev) THEN EXCLUDED.service_failed_at
                                   ELSE c.service_failed_at END,
        service_failed_unit = CASE WHEN EXISTS (SELECT 1 FROM ev) THEN EXCLUDED.service_failed_unit
                                   ELSE c.service_failed_unit END
    RETURNING (xmax = 0) AS inserted
)
INSERT INTO client_events (client_uuid, type, occurred_at, detail)
SELECT :#uuid, 'client_registered', :#received_at, jsonb_build_object('via', 'service_failed')
FROM up WHERE up.inserted
RETURNING client_uuid
