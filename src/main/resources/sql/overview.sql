-- GET /api/monitoring/overview: counts per liveness state and the per-client list, the list built
-- as JSON by PostgreSQL (json_agg of the rows, compact, keys in column order) and passed through as
-- it is (JsonViews.overview) instead of mapping every row to Java objects and writing them again
-- with Jackson (issue #8). Value formats are those of the other JSON views: times as
-- java.time.Instant#toString (UTC, 'Z', fraction of 0, 3 or 6 digits; the two replace() are much
-- cheaper than extract() or a regular expression), numbers, booleans, null.
WITH r AS (
    SELECT c.uuid, c.hostname, c.liveness_state,
           replace(replace(to_char(c.liveness_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z'), '000Z', 'Z') AS liveness_since,
           replace(replace(to_char(c.last_alive_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z'), '000Z', 'Z') AS last_alive_at,
           c.process_status, c.app_version, c.mqtt_reconnect_count,
           replace(replace(to_char(c.mqtt_last_disconnect_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z'), '000Z', 'Z') AS mqtt_last_disconnect_at,
           replace(replace(to_char(c.service_failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z'), '000Z', 'Z') AS service_failed_at,
           c.service_failed_unit, c.recovery_state,
           replace(replace(to_char(c.recovery_state_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '.000000Z', 'Z'), '000Z', 'Z') AS recovery_state_since,
           EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = c.uuid) AS has_power_target
    FROM clients c
)
SELECT count(*) AS total,
       count(*) FILTER (WHERE r.liveness_state = 'crashed') AS crashed,
       count(*) FILTER (WHERE r.liveness_state = 'offline') AS offline,
       count(*) FILTER (WHERE r.liveness_state = 'online') AS online,
       count(*) FILTER (WHERE r.liveness_state = 'stale') AS stale,
       CAST(COALESCE(json_agg(r ORDER BY r.hostname NULLS LAST, r.uuid), '[]') AS text) AS clients
FROM r
