-- One step of a power operation as a client event (power_*). The operation's outlet lock (only the
-- lock this command holds) records the step, the intent (power_intent) and a renewed lease that
-- covers the longest step, the off-wait included: only a service that died mid-operation lets it
-- run out (the resume sweep, power-resume-due.sql).
WITH lock AS (
    UPDATE power_outlet_locks
       SET step = CAST(:#powerEventType AS text),
           intent_at = CASE WHEN CAST(:#powerEventType AS text) = 'power_intent' THEN now() ELSE intent_at END,
           lease_until = GREATEST(lease_until, now() + make_interval(secs => CAST(:#lease_s AS integer) + CAST(:#off_s AS integer)))
     WHERE outlet_key = :#outletKey AND command_id = :#commandId
)
INSERT INTO client_events (client_uuid, type, command_id, detail)
VALUES (:#clientUuid, :#powerEventType, :#commandId, CAST(:#powerEventDetail AS jsonb))
