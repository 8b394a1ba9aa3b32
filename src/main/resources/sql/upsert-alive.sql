-- heartbeat / health from a device: register on first message, refresh liveness (server receive
-- time), keep the device ts beside it, store the health snapshot; a changed boot_id writes a
-- reboot_detected event, a first message a client_registered event. Older messages (by receive
-- time) never overwrite newer state.
WITH prev AS (
    SELECT uuid, boot_id FROM clients WHERE uuid = :#uuid
), up AS (
    INSERT INTO clients AS c (uuid, first_seen_at, last_alive_at, last_device_ts, process_status, boot_id,
                              hostname, ip, app_version, health, last_health_at,
                              mqtt_reconnect_count, mqtt_last_disconnect_at,
                              connection_state, connection_state_since)
    VALUES (:#uuid, :#received_at, :#received_at, CAST(:#device_ts AS timestamptz), CAST(:#process_status AS text),
            CAST(:#boot_id AS text), CAST(:#hostname AS text), CAST(:#ip AS text), CAST(:#app_version AS text),
            CAST(:#health AS jsonb), CASE WHEN CAST(:#health AS jsonb) IS NULL THEN NULL ELSE CAST(:#received_at AS timestamptz) END,
            CAST(:#mqtt_reconnect_count AS integer), CAST(:#mqtt_last_disconnect_at AS timestamptz),
            'online', :#received_at)
    ON CONFLICT (uuid) DO UPDATE SET
        last_alive_at           = EXCLUDED.last_alive_at,
        last_device_ts          = COALESCE(EXCLUDED.last_device_ts, c.last_device_ts),
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
    WHERE c.last_alive_at IS NULL OR c.last_alive_at <= EXCLUDED.last_alive_at
    RETURNING c.uuid, c.boot_id
), registered AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, detail)
    SELECT up.uuid, 'client_registered', :#received_at, jsonb_build_object('via', CAST(:#kind AS text))
    FROM up WHERE NOT EXISTS (SELECT 1 FROM prev)
), confirmed AS (
    -- a reboot_host / power_cycle in flight is completed by the first heartbeat from a new boot; a
    -- power_cycle only once the power route has switched the outlet (acked_at, with its power_switched
    -- event in the same statement): a display that boots while its outlet is being switched on and
    -- verified is confirmed by its next heartbeat, after every step of the cycle has been written
    UPDATE client_commands k
       SET status = 'completed', finished_at = :#received_at, version = k.version + 1,
           detail = 'confirmed by new boot_id ' || up.boot_id
      FROM up
     WHERE k.client_uuid = up.uuid
       AND k.action IN ('reboot_host', 'power_cycle')
       AND k.status IN ('published', 'accepted', 'executing')
       AND (k.action <> 'power_cycle' OR k.acked_at IS NOT NULL)
       AND CAST(:#boot_id AS text) IS NOT NULL
       AND k.boot_id_at_issue IS DISTINCT FROM up.boot_id
    RETURNING k.id, k.client_uuid, k.action
), confirmed_events AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, command_id, detail)
    SELECT client_uuid, 'command_completed', :#received_at, id,
           jsonb_build_object('action', action, 'boot_id', CAST(:#boot_id AS text), 'confirmed_by', 'new boot_id')
    FROM confirmed
), cycling AS (
    -- a power cycle whose outlet is being switched right now: its reboot is expected, too
    SELECT k.id FROM client_commands k
     WHERE k.client_uuid = :#uuid AND k.action = 'power_cycle' AND k.status = 'executing' AND k.acked_at IS NULL
     LIMIT 1
), reboot AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, command_id, detail)
    SELECT up.uuid, 'reboot_detected', :#received_at,
           COALESCE((SELECT id FROM confirmed LIMIT 1), (SELECT id FROM cycling)),
           jsonb_build_object('previous_boot_id', prev.boot_id, 'boot_id', up.boot_id,
                              'expected', EXISTS (SELECT 1 FROM confirmed) OR EXISTS (SELECT 1 FROM cycling))
    FROM up JOIN prev ON prev.uuid = up.uuid
    WHERE CAST(:#boot_id AS text) IS NOT NULL AND prev.boot_id IS NOT NULL AND prev.boot_id <> up.boot_id
)
SELECT uuid FROM up
