-- queued -> published once the broker acknowledged the publish (PUBACK); compare-and-set so a
-- command cancelled or expired meanwhile is never moved back
WITH upd AS (
    UPDATE client_commands SET status = 'published', published_at = now(), version = version + 1
    WHERE id = :#commandId AND status = 'queued'
    RETURNING id, client_uuid, expires_at
)
INSERT INTO client_events (client_uuid, type, command_id, detail)
SELECT client_uuid, 'command_published', id, jsonb_build_object('expires_at', expires_at) FROM upd
RETURNING command_id
