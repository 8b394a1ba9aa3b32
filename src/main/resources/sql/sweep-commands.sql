-- Every poll cycle, unconditionally (auto-recovery on or off), from the database alone so it
-- survives restarts:
--  1. reboot_host / power_cycle accepted or executing without a new boot_id within the boot
--     timeout -> failed, with a detail;
--  2. every other non-terminal command past expires_at -> expired (not a power cycle whose
--     intent is written: see power-resume-due.sql).
-- One event per transition.
WITH boot_failed AS (
    UPDATE client_commands
       SET status = 'failed', finished_at = now(), version = version + 1,
           detail = 'no heartbeat with a new boot_id within ' || CAST(:#boot_timeout_s AS integer) || ' s'
     WHERE action IN ('reboot_host', 'power_cycle') AND status IN ('accepted', 'executing')
       AND COALESCE(acked_at, published_at) < now() - make_interval(secs => CAST(:#boot_timeout_s AS integer))
    RETURNING id, client_uuid, detail
), due AS (
    SELECT id, status FROM client_commands
     WHERE status IN ('queued', 'published', 'accepted', 'executing') AND expires_at <= now()
       AND id NOT IN (SELECT id FROM boot_failed)
       -- a power cycle with its intent written is ended by the power route or, after a crash, the
       -- resume sweep (which first switches the outlet on again), never by expiry
       AND NOT EXISTS (SELECT 1 FROM power_outlet_locks l WHERE l.command_id = client_commands.id AND l.intent_at IS NOT NULL)
       FOR UPDATE
), expired AS (
    UPDATE client_commands k
       SET status = 'expired', finished_at = now(), version = k.version + 1,
           detail = COALESCE(k.detail || '; ', '') || 'expired in status ' || due.status
      FROM due
     WHERE k.id = due.id
    RETURNING k.id, k.client_uuid, k.detail, due.status AS old_status
), released AS (
    -- a command that expired before the device accepted it never ran: it releases the lockout
    UPDATE clients c
       SET (lockout_command_id, lockout_until) = (SELECT h.holder_id, h.holder_until FROM client_lockout_holder(c.uuid, x.id) h)
      FROM expired x
     WHERE c.uuid = x.client_uuid AND c.lockout_command_id = x.id AND x.old_status IN ('queued', 'published')
), ev AS (
    INSERT INTO client_events (client_uuid, type, command_id, detail)
    SELECT client_uuid, 'command_failed', id, jsonb_build_object('detail', detail) FROM boot_failed
    UNION ALL
    SELECT client_uuid, 'command_expired', id, jsonb_build_object('detail', detail) FROM expired
)
SELECT (SELECT count(*) FROM boot_failed) + (SELECT count(*) FROM expired) AS transitions
