-- The command holding a client's lockout and the seconds until it ends (for the 409 answer)
SELECT lockout_command_id AS holder_id,
       CAST(ceil(GREATEST(EXTRACT(EPOCH FROM (lockout_until - now())), 1)) AS bigint) AS retry_after_s
FROM clients
WHERE uuid = :#clientUuid
