-- The last look before switching: is the command still running, and is the display still down?
-- "spoke_since_command": a device message arrived after the power cycle was requested. The
-- command's expiry is pushed past the switching (off, wait, on) so it cannot expire mid-cycle.
WITH k AS (
    UPDATE client_commands
       SET expires_at = GREATEST(expires_at, now() + make_interval(secs => CAST(:#cycle_budget_s AS integer)))
     WHERE id = :#commandId AND status = 'executing'
    RETURNING id
)
SELECT c.status, c.forced, l.liveness_state, l.process_status, l.last_alive_at,
       COALESCE(l.last_alive_at > c.created_at, false) AS spoke_since_command
FROM client_commands c
JOIN clients l ON l.uuid = c.client_uuid
WHERE c.id = :#commandId
