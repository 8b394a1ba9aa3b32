-- An acknowledgement from a device on <prefix>/<uuid>/commands/ack.
-- One compare-and-set on status/version: states only move forward (skipping is allowed);
-- a duplicate or backward ack changes nothing; an ack for a finished command is a late_ack event.
-- reboot_host / power_cycle: the device's "completed" means "rebooting now"; the command stays
-- executing until a heartbeat with a new boot_id confirms it (upsert-snapshots.sql).
WITH cmd AS (
    SELECT id, client_uuid, action, status, version FROM client_commands WHERE id = :#command_id FOR UPDATE
), next AS (
    SELECT cmd.*,
           CASE WHEN :#ack_status = 'completed' AND cmd.action IN ('reboot_host', 'power_cycle') THEN 'executing'
                ELSE CAST(:#ack_status AS text) END AS new_status
    FROM cmd
    WHERE cmd.client_uuid = :#uuid
), upd AS (
    UPDATE client_commands k
       SET status      = n.new_status,
           version     = k.version + 1,
           acked_at    = COALESCE(k.acked_at, :#received_at),
           finished_at = CASE WHEN command_status_rank(n.new_status) = 4 THEN CAST(:#received_at AS timestamptz) END,
           detail      = COALESCE(CAST(:#detail AS text), k.detail),
           expires_at  = CASE WHEN k.action IN ('reboot_host', 'power_cycle') AND n.new_status IN ('accepted', 'executing')
                              THEN GREATEST(k.expires_at, CAST(:#received_at AS timestamptz)
                                            + make_interval(secs => CAST(:#boot_timeout_s AS integer) + 60))
                              ELSE k.expires_at END
      FROM next n
     -- the conditions read k (the row as it is once our row lock is granted), never the
     -- statement's snapshot: an ack waiting behind another ack or behind mark-published is
     -- re-checked against the committed state instead of being lost
     WHERE k.id = n.id
       AND command_status_rank(k.status) < 4
       AND command_status_rank(k.status) < command_status_rank(n.new_status)
    RETURNING k.id, k.client_uuid, n.status AS old_status, k.status AS new_status
), transition AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, command_id, detail)
    SELECT client_uuid, 'command_' || new_status, :#received_at, id,
           jsonb_strip_nulls(jsonb_build_object('from', old_status, 'ack', CAST(:#ack_status AS text),
               'detail', CAST(:#detail AS text), 'boot_id', CAST(:#boot_id AS text)))
    FROM upd
), late AS (
    INSERT INTO client_events (client_uuid, type, occurred_at, command_id, detail)
    SELECT n.client_uuid, 'late_ack', :#received_at, n.id,
           jsonb_strip_nulls(jsonb_build_object('status', n.status, 'ack', CAST(:#ack_status AS text),
               'detail', CAST(:#detail AS text)))
    FROM next n
    -- a QoS 1 duplicate of the ack that finished the command is not late, just a duplicate
    WHERE command_status_rank(n.status) = 4 AND n.status <> CAST(:#ack_status AS text)
), client_row AS (
    -- one UPDATE of the client row (two in one statement would lose one): a live ack refreshes
    -- liveness, and a command the device rejected never ran, so the lockout it holds falls back to
    -- the next command that still holds one (client_lockout_holder)
    UPDATE clients c
       SET last_alive_at = CASE WHEN CAST(:#retained AS boolean) THEN c.last_alive_at
                                ELSE GREATEST(c.last_alive_at, :#received_at) END,
           lockout_until = CASE WHEN c.lockout_command_id IN (SELECT id FROM upd WHERE new_status = 'rejected')
                                THEN (SELECT h.holder_until FROM client_lockout_holder(c.uuid, c.lockout_command_id) h)
                                ELSE c.lockout_until END,
           lockout_command_id = CASE WHEN c.lockout_command_id IN (SELECT id FROM upd WHERE new_status = 'rejected')
                                     THEN (SELECT h.holder_id FROM client_lockout_holder(c.uuid, c.lockout_command_id) h)
                                     ELSE c.lockout_command_id END
     WHERE c.uuid = :#uuid AND EXISTS (SELECT 1 FROM next)
)
SELECT CASE
         WHEN NOT EXISTS (SELECT 1 FROM cmd) THEN 'unknown_command'
         WHEN NOT EXISTS (SELECT 1 FROM next) THEN 'client_mismatch'
         WHEN EXISTS (SELECT 1 FROM upd) THEN 'applied'
         WHEN (SELECT command_status_rank(status) FROM cmd) = 4 THEN 'late'
         ELSE 'ignored'
       END AS outcome
