-- Operator acknowledgement of a service_failed alert: clear both fields and write one event.
-- Idempotent: a second call finds nothing to clear and writes nothing.
WITH target AS (
    SELECT uuid, service_failed_at, service_failed_unit FROM clients WHERE uuid = :#clientUuid FOR UPDATE
), cleared AS (
    UPDATE clients c SET service_failed_at = NULL, service_failed_unit = NULL
      FROM target t
     WHERE c.uuid = t.uuid AND t.service_failed_at IS NOT NULL
    RETURNING c.uuid, t.service_failed_at, t.service_failed_unit
), ev AS (
    INSERT INTO client_events (client_uuid, type, detail)
    SELECT uuid, 'service_failed_cleared',
           jsonb_build_object('service_failed_at', service_failed_at, 'service_failed_unit', service_failed_unit,
                              'requested_by', CAST(:#requested_by AS text))
    FROM cleared
)
SELECT count(*) AS found FROM target
