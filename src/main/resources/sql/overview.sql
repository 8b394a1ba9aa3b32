-- GET /api/monitoring/overview: the per-client part (counts are derived from it)
SELECT uuid, hostname, liveness_state, liveness_since, last_alive_at, process_status, app_version,
       mqtt_reconnect_count, mqtt_last_disconnect_at, service_failed_at, service_failed_unit, recovery_state, recovery_state_since,
       EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = clients.uuid) AS has_power_target
FROM clients
ORDER BY hostname NULLS LAST, uuid
