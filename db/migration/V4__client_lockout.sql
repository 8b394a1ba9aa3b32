-- The lockout lives on the client row: taking it is an UPDATE of that row, so two concurrent
-- requests for one client are serialised by PostgreSQL's row lock and re-check (a check against
-- client_commands inside the same statement would read a snapshot taken before the other
-- request committed).
ALTER TABLE clients
    ADD COLUMN lockout_until timestamptz,
    ADD COLUMN lockout_command_id uuid;

-- the lockout each command established (created_at + the lockout window at the time)
ALTER TABLE client_commands ADD COLUMN lockout_until timestamptz;

-- When the command holding a client's lockout turns out never to have run (cancelled while
-- queued, rejected, expired), the lockout falls back to the next command that still holds one.
-- p_released is excluded explicitly: its new status is not visible inside the same statement.
CREATE FUNCTION client_lockout_holder(p_client uuid, p_released uuid)
    RETURNS TABLE (holder_id uuid, holder_until timestamptz)
    LANGUAGE sql STABLE AS $$
    SELECT id, lockout_until FROM client_commands
    WHERE client_uuid = p_client AND id <> p_released AND lockout_until > now()
      AND status NOT IN ('rejected', 'expired')
      AND NOT (status = 'cancelled' AND published_at IS NULL)
    ORDER BY lockout_until DESC
    LIMIT 1
$$;
