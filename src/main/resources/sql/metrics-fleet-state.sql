-- Fleet gauges (FleetMetrics.fleetState): displays per liveness state, recovery_exhausted,
-- unacknowledged service_failed alerts, and whether the circuit breaker pauses recovery.
SELECT count(*) FILTER (WHERE liveness_state = 'online')  AS online,
       count(*) FILTER (WHERE liveness_state = 'crashed') AS crashed,
       count(*) FILTER (WHERE liveness_state = 'stale')   AS stale,
       count(*) FILTER (WHERE liveness_state = 'offline') AS offline,
       count(*) FILTER (WHERE recovery_state = 'exhausted') AS recovery_exhausted,
       count(*) FILTER (WHERE service_failed_at IS NOT NULL) AS service_failed,
       (SELECT CASE WHEN recovery_paused THEN 1 ELSE 0 END FROM fleet_state WHERE id = 1) AS recovery_paused
FROM clients
