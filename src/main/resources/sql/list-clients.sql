-- GET /api/clients[?liveness_state=...]: every client without its health snapshot
SELECT uuid, hostname, ip, app_version, first_seen_at, last_alive_at, last_device_ts, process_status, boot_id,
       connection_state, connection_state_since, liveness_state, liveness_since, down_since,
       service_failed_at, service_failed_unit, recovery_state, recovery_state_since,
       EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = clients.uuid) AS has_power_target, mqtt_reconnect_count, mqtt_last_disconnect_at
FROM clients
WHERE (:#livenessState = '' OR liveness_state = :#livenessState)
ORDER BY hostname NULLS LAST, uuid
