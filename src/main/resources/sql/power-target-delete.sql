-- DELETE /api/clients/{uuid}/power_target, with a power_target_deleted event
WITH client AS (
    SELECT uuid FROM clients WHERE uuid = :#clientUuid
), del AS (
    DELETE FROM power_targets WHERE client_uuid = :#clientUuid RETURNING client_uuid, driver
), ev AS (
    INSERT INTO client_events (client_uuid, type, detail)
    SELECT client_uuid, 'power_target_deleted', jsonb_build_object('driver', driver, 'requested_by', CAST(:#actor AS text))
    FROM del
)
SELECT (SELECT count(*) FROM client) AS client_found, (SELECT count(*) FROM del) AS target_found
