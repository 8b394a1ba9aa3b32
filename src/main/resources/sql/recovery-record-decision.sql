-- Write a recovery decision as an event, once: the same decision on the next sweep writes nothing.
-- An "exhausted" decision also marks the client recovery_exhausted.
WITH upd AS (
    UPDATE clients
       SET recovery_last_decision = :#decision,
           recovery_state = CASE WHEN :#kind = 'exhausted' THEN 'exhausted' ELSE recovery_state END,
           recovery_state_since = CASE WHEN :#kind = 'exhausted' AND recovery_state <> 'exhausted' THEN now()
                                       ELSE recovery_state_since END
     WHERE uuid = :#uuid AND recovery_last_decision IS DISTINCT FROM :#decision
    RETURNING uuid
)
INSERT INTO client_events (client_uuid, type, command_id, detail)
SELECT uuid, :#event_type, CAST(:#command_id AS uuid), CAST(:#detail AS jsonb) FROM upd
RETURNING id
