-- POST /api/commands/{id}/cancel: allowed until the device accepted the command
WITH cmd AS (
    SELECT id, client_uuid, status, version FROM client_commands WHERE id = :#commandId FOR UPDATE
), upd AS (
    UPDATE client_commands k SET status = 'cancelled', finished_at = now(), version = k.version + 1,
           detail = 'cancelled by ' || CAST(:#requested_by AS text)
    FROM cmd
    -- re-checked on the row as committed when our lock is granted (see ack-command.sql)
    WHERE k.id = cmd.id AND k.status IN ('queued', 'published')
    RETURNING k.id, k.client_uuid, cmd.status AS old_status
), released AS (
    -- a command cancelled before it reached the broker never ran: it releases the lockout it holds
    UPDATE clients c
       SET (lockout_command_id, lockout_until) = (SELECT h.holder_id, h.holder_until FROM client_lockout_holder(c.uuid, upd.id) h)
      FROM upd WHERE c.uuid = upd.client_uuid AND c.lockout_command_id = upd.id AND upd.old_status = 'queued'
), ev AS (
    INSERT INTO client_events (client_uuid, type, command_id, detail)
    SELECT client_uuid, 'command_cancelled', id,
           jsonb_build_object('from', old_status, 'requested_by', CAST(:#requested_by AS text)) FROM upd
)
SELECT (SELECT count(*) FROM cmd) AS found,
       (SELECT count(*) FROM upd) AS cancelled,
       (SELECT status FROM cmd) AS status
