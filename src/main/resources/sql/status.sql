-- status (last will, retained) from a device or from the broker on its behalf.
-- A live "online" is a device message and refreshes liveness; a live "offline" records the time
-- of the last will, and the liveness sweep turns it into "offline" only if no device message
-- follows within the grace period. A retained message replayed on subscribe never refreshes
-- liveness and only fills in a connection state we do not know yet.
WITH up AS (
    INSERT INTO clients AS c (uuid, first_seen_at, last_alive_at, connection_state, connection_state_since)
    VALUES (:#uuid, :#received_at,
            CASE WHEN CAST(:#state AS text) = 'online' AND NOT CAST(:#retained AS boolean)
                 THEN CAST(:#received_at AS timestamptz) END,
            :#state, :#received_at)
    ON CONFLICT (uuid) DO UPDATE SET
        connection_state       = EXCLUDED.connection_state,
        connection_state_since = EXCLUDED.connection_state_since,
        last_alive_at          = CASE WHEN EXCLUDED.last_alive_at IS NOT NULL
                                      THEN GREATEST(c.last_alive_at, EXCLUDED.last_alive_at)
                                      ELSE c.last_alive_at END
    WHERE NOT CAST(:#retained AS boolean) OR c.connection_state IS NULL
    RETURNING (xmax = 0) AS inserted
)
INSERT INTO client_events (client_uuid, type, occurred_at, detail)
SELECT :#uuid, 'client_registered', :#received_at, jsonb_build_object('via', 'status')
FROM up WHERE up.inserted
RETURNING client_uuid
