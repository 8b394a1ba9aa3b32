-- The outlet has been cycled: from now on the boot timeout runs (acked_at), and the command is
-- completed by the first heartbeat with a new boot_id (upsert-snapshots.sql) or failed by the sweep.
-- The power_switched event (powerEventDetail) is written in the same statement, so a completion
-- can never come before it.
WITH upd AS (
    UPDATE client_commands
       SET acked_at = now(), version = version + 1, detail = CAST(:#detail AS text),
           expires_at = GREATEST(expires_at, now() + make_interval(secs => CAST(:#boot_timeout_s AS integer) + 60))
     WHERE id = :#commandId AND status = 'executing'
    RETURNING id
)
INSERT INTO client_events (client_uuid, type, command_id, detail)
VALUES (:#clientUuid, 'power_switched', :#commandId, CAST(:#powerEventDetail AS jsonb))
