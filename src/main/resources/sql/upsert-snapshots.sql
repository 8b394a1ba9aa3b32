-- Heartbeat and health snapshots of many clients in one statement (SnapshotCoalescer, route
-- store-snapshots). :#rows is a JSON array with at most one object per client (a client twice in
-- one INSERT ... ON CONFLICT is an error; the coalescer merges the snapshots of one boot, newest
-- wins, and never merges across boots), sorted by uuid.
-- Per client: register on its first message, refresh liveness (server receive time), keep the
-- device ts beside it, store the snapshot; a new boot_id writes a reboot_detected event and
-- confirms a reboot_host / power_cycle in flight. An older snapshot never overwrites a newer one
-- (snapshot_verdict, V10): a snapshot of an earlier boot changes nothing, an older one of the same
-- boot only refreshes liveness.
WITH input AS (
    SELECT * FROM jsonb_to_recordset(CAST(:#rows AS jsonb)) AS r(
        uuid uuid, kind text, received_at timestamptz, device_ts timestamptz, process_status text, boot_id text,
        hostname text, ip text, app_version text, health jsonb, health_received_at timestamptz,
        mqtt_reconnect_count integer, mqtt_last_disconnect_at timestamptz)
), prev AS (
    -- the stored rows as they are once our row locks are granted (another instance may have
    -- written them meanwhile), locked in uuid order so that two instances never deadlock
    SELECT c.uuid, c.boot_id, c.previous_boot_ids, c.last_snapshot_ts, c.last_snapshot_at
    FROM clients c WHERE c.uuid IN (SELECT uuid FROM input)
    ORDER BY c.uuid
    FOR UPDATE
), verdict AS (
    SELECT i.*, p.uuid IS NULL AS is_new, p.boot_id AS prev_boot_id,
           CASE WHEN p.uuid IS NULL THEN 'newer'
                ELSE snapshot_verdict(p.boot_id, p.previous_boot_ids, p.last_snapshot_ts, p.last_snapshot_at, i.boot_id, i.device_ts)
           END AS verdict
    FROM input i LEFT JOIN prev p ON p.uuid = i.uuid
), up AS (
    INSERT INTO clients AS c (uuid, first_seen_at, last_alive_at, last_device_ts, last_snapshot_ts, last_snapshot_at,
                              process_status, boot_id, previous_boot_ids, hostname, ip, app_version, health, last_health_at,
                              mqtt_reconnect_count, mqtt_last_disconnect_at, connection_state, connection_state_since)
    SELECT v.uuid, v.received_at, v.received_at, v.device_ts, v.device_ts, v.received_at,
           v.process_status, v.boot_id, '{}', v.hostname, v.ip, v.app_version, v.health,
           CASE WHEN v.health IS NULL THEN NULL ELSE COALESCE(v.health_received_at, v.received_at) END,
           v.mqtt_reconnect_count, v.mqtt_last_disconnect_at, 'online', v.received_at
    FROM verdict v
    WHERE v.verdict IN ('newer', 'new_boot')
    ORDER BY v.uuid
    ON CONFLICT (uuid) DO UPDATE SET
        last_alive_at           = GREATEST(c.last_alive_at, EXCLUDED.last_alive_at),
        last_device_ts          = COALESCE(EXCLUDED.last_device_ts, c.last_device_ts),
        last_snapshot_ts        = CASE WHEN EXCLUDED.boot_id IS DISTINCT FROM c.boot_id AND EXCLUDED.boot_id IS NOT NULL
                                       THEN EXCLUDED.last_snapshot_ts
                                       ELSE COALESCE(EXCLUDED.last_snapshot_ts, c.last_snapshot_ts) END,
        last_snapshot_at        = EXCLUDED.last_snapshot_at,
        previous_boot_ids       = boot_history(c.previous_boot_ids, c.boot_id, '{}', EXCLUDED.boot_id),
        process_status          = COALESCE(EXCLUDED.process_status, c.process_status),
        boot_id                 = COALESCE(EXCLUDED.boot_id, c.boot_id),
        hostname                = COALESCE(EXCLUDED.hostname, c.hostname),
        ip                      = COALESCE(EXCLUDED.ip, c.ip),
        app_version             = COALESCE(EXCLUDED.app_version, c.app_version),
        health                  = COALESCE(EXCLUDED.health, c.health),
        last_health_at          = COALESCE(EXCLUDED.last_health_at, c.last_health_at),
        mqtt_reconnect_count    = COALESCE(EXCLUDED.mqtt_reconnect_count, c.mqtt_reconnect_count),
        mqtt_last_disconnect_at = COALESCE(EXCLUDED.mqtt_last_disconnect_at, c.mqtt_last_disconnect_at),
        connection_state_since  = CASE WHEN c.connection_state = 'online' THEN c.connection_state_since
                                       ELSE EXCLUDED.connection_state_since END,
        connection_state        = 'online'
    -- checked again against the row as it is now: a client inserted by another instance after
    -- our snapshot was taken is not in prev
    WHERE snapshot_verdict(c.boot_id, c.previous_boot_ids, c.last_snapshot_ts, c.last_snapshot_at,
                           EXCLUDED.boot_id, EXCLUDED.last_snapshot_ts) IN ('newer', 'new_boot')
    RETURNING c.uuid, c.boot_id
), older AS (
    -- an older snapshot of the current boot is still a device message: liveness and the device clock count
    UPDATE clients c
       SET last_alive_at  = GREATEST(c.last_alive_at, v.received_at),
           last_device_ts = COALESCE(v.device_ts, c.last_device_ts)
      FROM verdict v
     WHERE v.uuid = c.uuid AND v.verdict = 'older'
    RETURNING c.uuid
), registered AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, detail)
    SELECT v.uuid, 'client_registered', v.received_at, jsonb_build_object('via', v.kind)
    FROM verdict v JOIN up ON up.uuid = v.uuid
    WHERE v.is_new
), confirmed AS (
    -- a reboot_host / power_cycle in flight is completed by the first snapshot from a new boot; a
    -- power_cycle only once the power route has switched the outlet (acked_at, with its power_switched
    -- event in the same statement): a display that boots while its outlet is being switched on and
    -- verified is confirmed by its next snapshot, after every step of the cycle has been written
    UPDATE client_commands k
       SET status = 'completed', finished_at = v.received_at, version = k.version + 1,
           detail = 'confirmed by new boot_id ' || up.boot_id
      FROM up JOIN verdict v ON v.uuid = up.uuid
     WHERE k.client_uuid = up.uuid
       AND k.action IN ('reboot_host', 'power_cycle')
       AND k.status IN ('published', 'accepted', 'executing')
       AND (k.action <> 'power_cycle' OR k.acked_at IS NOT NULL)
       AND v.boot_id IS NOT NULL
       AND k.boot_id_at_issue IS DISTINCT FROM up.boot_id
    RETURNING k.id, k.client_uuid, k.action, v.boot_id, v.received_at
), confirmed_events AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, command_id, detail)
    SELECT client_uuid, 'command_completed', received_at, id,
           jsonb_build_object('action', action, 'boot_id', boot_id, 'confirmed_by', 'new boot_id')
    FROM confirmed
), cycling AS (
    -- a power cycle whose outlet is being switched right now: its reboot is expected, too
    SELECT DISTINCT ON (k.client_uuid) k.client_uuid, k.id FROM client_commands k
     WHERE k.client_uuid IN (SELECT uuid FROM verdict WHERE verdict = 'new_boot')
       AND k.action = 'power_cycle' AND k.status = 'executing' AND k.acked_at IS NULL
     ORDER BY k.client_uuid, k.id
), reboot AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, command_id, detail)
    SELECT v.uuid, 'reboot_detected', v.received_at,
           COALESCE((SELECT k.id FROM confirmed k WHERE k.client_uuid = v.uuid LIMIT 1),
                    (SELECT y.id FROM cycling y WHERE y.client_uuid = v.uuid)),
           jsonb_build_object('previous_boot_id', v.prev_boot_id, 'boot_id', v.boot_id,
                              'expected', EXISTS (SELECT 1 FROM confirmed k WHERE k.client_uuid = v.uuid)
                                          OR EXISTS (SELECT 1 FROM cycling y WHERE y.client_uuid = v.uuid))
    FROM verdict v JOIN up ON up.uuid = v.uuid
    WHERE v.verdict = 'new_boot'
)
SELECT (SELECT count(*) FROM up) AS applied, (SELECT count(*) FROM older) AS older,
       (SELECT count(*) FROM verdict WHERE verdict = 'old_boot') AS old_boot
