-- PUT /api/clients/{uuid}/power_target: create or replace the client's power target; one
-- power_target_set event (the audit trail: who set which driver, protected or not)
WITH client AS (
    SELECT uuid FROM clients WHERE uuid = :#clientUuid
), up AS (
    INSERT INTO power_targets (client_uuid, driver, params, secret_ref, protected, outlet_key, updated_by)
    SELECT client.uuid, :#driver, CAST(:#params AS jsonb), CAST(:#secret_ref AS text), CAST(:#protected AS boolean),
           :#outlet_key, :#actor
    FROM client
    ON CONFLICT (client_uuid) DO UPDATE SET
        driver = EXCLUDED.driver, params = EXCLUDED.params, secret_ref = EXCLUDED.secret_ref,
        protected = EXCLUDED.protected, outlet_key = EXCLUDED.outlet_key, updated_at = now(),
        updated_by = EXCLUDED.updated_by
    RETURNING client_uuid, driver, protected
), ev AS (
    INSERT INTO client_events (client_uuid, type, detail)
    SELECT client_uuid, 'power_target_set',
           jsonb_build_object('driver', driver, 'protected', protected, 'secret_ref', CAST(:#secret_ref AS text),
                              'requested_by', CAST(:#actor AS text))
    FROM up
)
SELECT (SELECT count(*) FROM client) AS client_found, (SELECT count(*) FROM up) AS target_found
