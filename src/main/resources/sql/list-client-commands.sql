-- GET /api/clients/{uuid}/commands: newest first
SELECT id, client_uuid, action, status, origin, reason, requested_by, forced, created_at, published_at,
       acked_at, finished_at, expires_at, detail, version
FROM client_commands
WHERE client_uuid = :#clientUuid
ORDER BY created_at DESC, id
LIMIT :#pageLimit
