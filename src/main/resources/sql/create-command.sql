-- Create a command unless a destructive command for the same client holds the lockout.
-- Taking the lockout is an UPDATE of the client row: a concurrent request waits for the row lock
-- and then re-checks lockout_until against the committed row, so two requests can never both
-- pass. A forced command takes the lockout over and records which one it overrode.
-- (When no command is created, lockout-holder.sql reads the holder in a fresh snapshot.)
WITH client AS (
    SELECT uuid, lockout_command_id FROM clients WHERE uuid = :#clientUuid
), lock AS (
    UPDATE clients c
       SET lockout_until = now() + make_interval(secs => CAST(:#lockout_s AS integer)),
           lockout_command_id = :#id
     WHERE c.uuid = :#clientUuid
       AND (CAST(:#force AS boolean) OR c.lockout_until IS NULL OR c.lockout_until <= now())
    RETURNING c.uuid, c.boot_id
), ins AS (
    INSERT INTO client_commands (id, client_uuid, action, origin, reason, requested_by, forced, expires_at,
                                 boot_id_at_issue, lockout_until)
    SELECT :#id, lock.uuid, :#action, :#origin, CAST(:#reason AS text), :#requested_by, CAST(:#force AS boolean),
           now() + make_interval(secs => CAST(:#ttl_s AS integer)), lock.boot_id,
           now() + make_interval(secs => CAST(:#lockout_s AS integer))
    FROM lock
    ON CONFLICT DO NOTHING
    RETURNING id, client_uuid, action, origin, reason, requested_by, forced, expires_at
), ev AS (
    INSERT INTO client_events (client_uuid, type, command_id, detail)
    SELECT ins.client_uuid, 'command_queued', ins.id,
           jsonb_strip_nulls(jsonb_build_object('action', ins.action, 'origin', ins.origin, 'reason', ins.reason,
               'requested_by', ins.requested_by, 'forced', ins.forced, 'expires_at', ins.expires_at,
               'overrode_lockout_of', CASE WHEN ins.forced THEN (SELECT lockout_command_id FROM client) END))
    FROM ins
)
SELECT (SELECT count(*) FROM client) AS client_found,
       (SELECT id FROM ins) AS command_id
