-- GET /api/clients/service_failed: clients with an unacknowledged failed systemd unit, newest first
SELECT uuid, hostname, ip, liveness_state, last_alive_at, service_failed_at, service_failed_unit
FROM clients
WHERE service_failed_at IS NOT NULL
ORDER BY service_failed_at DESC, uuid
