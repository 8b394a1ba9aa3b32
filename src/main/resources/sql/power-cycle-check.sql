-- POST /api/clients/{uuid}/power_cycle: the facts checked before the command is created. An
-- outlet counts as protected when any power target on it is (two clients can share one outlet).
SELECT (SELECT count(*) FROM clients WHERE uuid = :#clientUuid) AS client_found,
       p.driver,
       EXISTS (SELECT 1 FROM power_targets o WHERE o.outlet_key = p.outlet_key AND o.protected) AS outlet_protected,
       c.liveness_state,
       CAST(floor(EXTRACT(EPOCH FROM (now() - c.last_alive_at))) AS bigint) AS silent_for_s
FROM (SELECT 1) one
LEFT JOIN clients c ON c.uuid = :#clientUuid
LEFT JOIN power_targets p ON p.client_uuid = c.uuid
