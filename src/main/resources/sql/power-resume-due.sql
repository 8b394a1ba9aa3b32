-- Power operations that a service crash interrupted: the intent is written (the outlet may have
-- been switched off) and the lease ran out (nobody renews it: the holder died). Oldest first.
SELECT outlet_key, command_id, client_uuid, step
FROM power_outlet_locks
WHERE intent_at IS NOT NULL AND lease_until < now()
ORDER BY locked_at
LIMIT 20
