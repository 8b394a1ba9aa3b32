-- One liveness sweep: compute every client's state, write only the transitions, one event each.
--   offline : the last will says offline, no device message since, for longer than the grace period
--   stale   : no device message for stale_after_s (only once this instance has been up that long)
--   crashed : the latest health says process_status = crashed
--   online  : otherwise
-- During the start-up grace a client that has not spoken since we started keeps its state.
WITH computed AS (
    SELECT c.uuid, c.liveness_state AS old_state, c.down_since,
           CASE
             WHEN c.connection_state = 'offline'
                  AND c.connection_state_since <= CAST(:#now AS timestamptz) - make_interval(secs => :#offline_grace_s)
               THEN 'offline'
             WHEN c.connection_state = 'offline'
               THEN c.liveness_state
             WHEN NOT CAST(:#stale_enabled AS boolean)
                  AND (c.last_alive_at IS NULL OR c.last_alive_at < CAST(:#started_at AS timestamptz))
               THEN c.liveness_state
             WHEN c.last_alive_at IS NULL
                  OR c.last_alive_at < CAST(:#now AS timestamptz) - make_interval(secs => :#stale_after_s)
               THEN 'stale'
             WHEN c.process_status = 'crashed'
               THEN 'crashed'
             ELSE 'online'
           END AS new_state
    FROM clients c
), changed AS (
    UPDATE clients c
       SET liveness_state = x.new_state,
           liveness_since = CAST(:#now AS timestamptz),
           down_since     = CASE WHEN x.new_state = 'online' THEN NULL
                                 ELSE COALESCE(c.down_since, CAST(:#now AS timestamptz)) END
      FROM computed x
     WHERE x.uuid = c.uuid AND x.new_state <> x.old_state
    RETURNING c.uuid, x.old_state, x.new_state, x.down_since AS old_down_since
), events AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, detail)
    SELECT uuid,
           CASE new_state WHEN 'online'  THEN 'recovered'
                          WHEN 'crashed' THEN 'crash_detected'
                          WHEN 'stale'   THEN 'stale_detected'
                          ELSE 'offline_detected' END,
           CAST(:#now AS timestamptz),
           CASE WHEN new_state = 'online'
                THEN jsonb_build_object('from', old_state, 'downtime_s',
                         round(EXTRACT(EPOCH FROM (CAST(:#now AS timestamptz) - COALESCE(old_down_since, CAST(:#now AS timestamptz))))))
                ELSE jsonb_build_object('from', old_state) END
    FROM changed
    RETURNING 1
)
SELECT (SELECT count(*) FROM changed) AS transitions
