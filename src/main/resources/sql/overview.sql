-- GET /api/monitoring/overview: counts per liveness state and the per-client list, the list built
-- as JSON by PostgreSQL (json_agg) and passed through as it is (JsonViews.overview): at 10k clients,
-- mapping every row to Java objects and writing them again with Jackson took most of the request
-- (issue #8). Keys and value formats are those of the other JSON views: times as
-- java.time.Instant#toString (UTC, 'Z', fraction of 0, 3 or 6 digits), numbers, booleans, null.
SELECT count(*) AS total,
       count(*) FILTER (WHERE c.liveness_state = 'crashed') AS crashed,
       count(*) FILTER (WHERE c.liveness_state = 'offline') AS offline,
       count(*) FILTER (WHERE c.liveness_state = 'online') AS online,
       count(*) FILTER (WHERE c.liveness_state = 'stale') AS stale,
       CAST(COALESCE(json_agg(json_build_object(
            'uuid', c.uuid,
            'hostname', c.hostname,
            'liveness_state', c.liveness_state,
            'liveness_since', CASE WHEN c.liveness_since IS NULL THEN NULL ELSE to_char(c.liveness_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM c.liveness_since)::bigint % 1000000 = 0 THEN ''
                        WHEN extract(microseconds FROM c.liveness_since)::bigint % 1000 = 0 THEN to_char(c.liveness_since AT TIME ZONE 'UTC', '.MS')
                        ELSE to_char(c.liveness_since AT TIME ZONE 'UTC', '.US') END || 'Z' END,
            'last_alive_at', CASE WHEN c.last_alive_at IS NULL THEN NULL ELSE to_char(c.last_alive_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM c.last_alive_at)::bigint % 1000000 = 0 THEN ''
                        WHEN extract(microseconds FROM c.last_alive_at)::bigint % 1000 = 0 THEN to_char(c.last_alive_at AT TIME ZONE 'UTC', '.MS')
                        ELSE to_char(c.last_alive_at AT TIME ZONE 'UTC', '.US') END || 'Z' END,
            'process_status', c.process_status,
            'app_version', c.app_version,
            'mqtt_reconnect_count', c.mqtt_reconnect_count,
            'mqtt_last_disconnect_at', CASE WHEN c.mqtt_last_disconnect_at IS NULL THEN NULL ELSE to_char(c.mqtt_last_disconnect_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM c.mqtt_last_disconnect_at)::bigint % 1000000 = 0 THEN ''
                        WHEN extract(microseconds FROM c.mqtt_last_disconnect_at)::bigint % 1000 = 0 THEN to_char(c.mqtt_last_disconnect_at AT TIME ZONE 'UTC', '.MS')
                        ELSE to_char(c.mqtt_last_disconnect_at AT TIME ZONE 'UTC', '.US') END || 'Z' END,
            'service_failed_at', CASE WHEN c.service_failed_at IS NULL THEN NULL ELSE to_char(c.service_failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM c.service_failed_at)::bigint % 1000000 = 0 THEN ''
                        WHEN extract(microseconds FROM c.service_failed_at)::bigint % 1000 = 0 THEN to_char(c.service_failed_at AT TIME ZONE 'UTC', '.MS')
                        ELSE to_char(c.service_failed_at AT TIME ZONE 'UTC', '.US') END || 'Z' END,
            'service_failed_unit', c.service_failed_unit,
            'recovery_state', c.recovery_state,
            'recovery_state_since', CASE WHEN c.recovery_state_since IS NULL THEN NULL ELSE to_char(c.recovery_state_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM c.recovery_state_since)::bigint % 1000000 = 0 THEN ''
                        WHEN extract(microseconds FROM c.recovery_state_since)::bigint % 1000 = 0 THEN to_char(c.recovery_state_since AT TIME ZONE 'UTC', '.MS')
                        ELSE to_char(c.recovery_state_since AT TIME ZONE 'UTC', '.US') END || 'Z' END,
            'has_power_target', EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = c.uuid)
       ) ORDER BY c.hostname NULLS LAST, c.uuid), '[]') AS text) AS clients
FROM clients c
