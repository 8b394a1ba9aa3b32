-- Next client events for the event log (EventLog), oldest first
SELECT id, client_uuid, type, occurred_at, command_id, CAST(detail AS text) AS detail
FROM client_events
WHERE id > :#after_id
ORDER BY id
LIMIT 1000
