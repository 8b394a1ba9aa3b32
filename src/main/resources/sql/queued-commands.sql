-- commands still waiting for the broker (it was down, or the service restarted): publish again
SELECT id FROM client_commands
WHERE status = 'queued' AND expires_at > now()
  -- leave a just-created command to the request that is publishing it (no double delivery)
  AND created_at < now() - interval '10 seconds'
ORDER BY created_at
LIMIT 500
