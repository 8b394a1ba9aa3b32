-- GET /api/clients/{uuid}/events: newest first, keyset pagination on the event id
SELECT id, type, occurred_at, command_id, detail
FROM client_events
WHERE client_uuid = :#clientUuid AND id < :#beforeId
ORDER BY id DESC
LIMIT :#pageLimit
