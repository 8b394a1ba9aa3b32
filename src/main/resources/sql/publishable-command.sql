-- A command that may be published now: still queued and not expired. A power_cycle is not
-- published over MQTT: the publish route hands it to the shared power route instead.
SELECT id, client_uuid, action, reason, created_at, expires_at
FROM client_commands
WHERE id = :#commandId AND status = 'queued' AND expires_at > now()
