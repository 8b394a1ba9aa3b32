-- GET /api/clients/{uuid}/power_target (never a secret: only the name of the variable holding it)
SELECT driver, params, secret_ref, protected, updated_at, updated_by
FROM power_targets
WHERE client_uuid = :#clientUuid
