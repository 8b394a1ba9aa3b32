-- Commands per action, origin and status (FleetMetrics.commands)
SELECT action, origin, status, count(*) AS count
FROM client_commands
GROUP BY action, origin, status
