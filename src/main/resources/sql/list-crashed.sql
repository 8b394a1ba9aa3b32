-- GET /api/clients/crashed: crashed or stale clients, longest outage first, with downtime so far
SELECT uuid, hostname, ip, app_version, last_alive_at, process_status, liveness_state, liveness_since, down_since,
       CAST(round(EXTRACT(EPOCH FROM (now() - COALESCE(down_since, liveness_since)))) AS bigint) AS downtime_s,
       service_failed_at, service_failed_unit, recovery_state, recovery_state_since,
       EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = clients.uuid) AS has_power_target, mqtt_reconnect_count, mqtt_last_disconnect_at
FROM clients
WHERE liveness_state IN ('crashed', 'stale')
ORDER BY COALESCE(down_since, liveness_since), uuid
