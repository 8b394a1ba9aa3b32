-- commands still waiting for the broker (it was down, or the service restarted): publish again
SELECT id FROM client_commands
WHERE status = 'queued' AND expires_at > now()
ORDER BY created_at
LIMIT 500
