-- Create a command unless a destructive command for the same client holds the lockout.
-- Locks the client row, so two concurrent requests for one client are serialised and cannot both
-- pass the lockout check. A forced command records which lockout it overrode.
-- Commands that never ran (cancelled, rejected, expired) do not hold a lockout.
WITH client AS (
    SELECT uuid, boot_id FROM clients WHERE uuid = :#clientUuid FOR UPDATE
), holder AS (
    SELECT k.id, k.created_at FROM client_commands k, client
    WHERE k.client_uuid = client.uuid
      AND k.status NOT IN ('cancelled', 'rejected', 'expired')
      AND k.created_at > now() - make_interval(secs => CAST(:#lockout_s AS integer))
    ORDER BY k.created_at DESC
    LIMIT 1
), ins AS (
    INSERT INTO client_commands (id, client_uuid, action, origin, reason, requested_by, forced, expires_at, boot_id_at_issue)
    SELECT :#id, client.uuid, :#action, :#origin, CAST(:#reason AS text), :#requested_by, CAST(:#force AS boolean),
           now() + make_interval(secs => CAST(:#ttl_s AS integer)), client.boot_id
    FROM client
    WHERE CAST(:#force AS boolean) OR NOT EXISTS (SELECT 1 FROM holder)
    ON CONFLICT DO NOTHING
    RETURNING id, client_uuid, action, origin, reason, requested_by, forced, expires_at
), ev AS (
    INSERT INTO client_events (client_uuid, type, command_id, detail)
    SELECT client_uuid, 'command_queued', id,
           jsonb_strip_nulls(jsonb_build_object('action', action, 'origin', origin, 'reason', reason,
               'requested_by', requested_by, 'forced', forced, 'expires_at', expires_at,
               'overrode_lockout_of', (SELECT id FROM holder)))
    FROM ins
)
SELECT (SELECT count(*) FROM client) AS client_found,
       (SELECT id FROM ins) AS command_id,
       (SELECT id FROM holder) AS holder_id,
       (SELECT CAST(ceil(CAST(:#lockout_s AS integer) - EXTRACT(EPOCH FROM (now() - created_at))) AS bigint) FROM holder) AS retry_after_s
