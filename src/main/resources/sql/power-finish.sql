-- A power cycle that ends without a new boot: failed (an error) or cancelled (not switched
-- because the display came back). One that never switched the outlet gives up the lockout like a
-- command that never ran, falling back to the next holder (client_lockout_holder), and drops its
-- own lockout_until so that a later release never falls back to it either.
WITH upd AS (
    UPDATE client_commands k
       SET status = :#finalStatus, finished_at = now(), version = k.version + 1, detail = CAST(:#detail AS text),
           lockout_until = CASE WHEN CAST(:#switched AS boolean) THEN k.lockout_until END
     WHERE k.id = :#commandId AND k.status IN ('queued', 'executing')
    RETURNING k.id, k.client_uuid
), released AS (
    UPDATE clients c
       SET (lockout_command_id, lockout_until) = (SELECT h.holder_id, h.holder_until FROM client_lockout_holder(c.uuid, upd.id) h)
      FROM upd
     WHERE c.uuid = upd.client_uuid AND c.lockout_command_id = upd.id AND NOT CAST(:#switched AS boolean)
), ev AS (
    INSERT INTO client_events (client_uuid, type, command_id, detail)
    SELECT client_uuid, 'command_' || CAST(:#finalStatus AS text), id,
           jsonb_build_object('from', 'executing', 'detail', CAST(:#detail AS text)) FROM upd
)
SELECT count(*) FROM upd
