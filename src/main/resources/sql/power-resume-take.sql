-- The resume sweep takes an interrupted power operation's outlet lock: one compare-and-set, so of
-- two instances (or a late original holder) exactly one resumes it. Answers the command and the
-- outlet's driver and parameters from a power target still on that outlet (the command's own
-- first); driver NULL when none is left (the target was changed or deleted mid-cycle).
WITH taken AS (
    UPDATE power_outlet_locks l
       SET holder = :#holder, step = 'power_resume',
           lease_until = now() + make_interval(secs => CAST(:#lease_s AS integer))
     WHERE l.outlet_key = :#outletKey AND l.command_id = :#commandId
       AND l.intent_at IS NOT NULL AND l.lease_until < now()
    RETURNING l.outlet_key, l.command_id, l.client_uuid
)
SELECT t.command_id, t.client_uuid, t.outlet_key, k.status AS command_status, COALESCE(k.forced, false) AS forced,
       p.driver, p.params, p.secret_ref
FROM taken t
LEFT JOIN client_commands k ON k.id = t.command_id
LEFT JOIN LATERAL (
    SELECT o.driver, o.params, o.secret_ref FROM power_targets o
     WHERE o.outlet_key = t.outlet_key
     ORDER BY (o.client_uuid = t.client_uuid) DESC
     LIMIT 1
) p ON true
