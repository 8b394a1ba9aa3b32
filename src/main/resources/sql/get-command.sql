SELECT id, client_uuid, action, status, origin, reason, requested_by, forced, created_at, published_at,
       acked_at, finished_at, expires_at, detail, version
FROM client_commands
WHERE id = :#commandId
