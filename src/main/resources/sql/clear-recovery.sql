-- POST /api/clients/{uuid}/clear_recovery: an operator makes an exhausted client eligible again
WITH target AS (
    SELECT uuid, recovery_state FROM clients WHERE uuid = :#clientUuid FOR UPDATE
), cleared AS (
    UPDATE clients c SET recovery_state = 'idle', recovery_state_since = now(), recovery_last_decision = NULL
      FROM target t WHERE c.uuid = t.uuid AND t.recovery_state = 'exhausted'
    RETURNING c.uuid
), ev AS (
    INSERT INTO client_events (client_uuid, type, detail)
    SELECT uuid, 'recovery_cleared', jsonb_build_object('requested_by', CAST(:#requested_by AS text)) FROM cleared
)
SELECT count(*) AS found FROM target
