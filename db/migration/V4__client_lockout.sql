-- The lockout lives on the client row: taking it is an UPDATE of that row, so two concurrent
-- requests for one client are serialised by PostgreSQL's row lock and re-check (a check against
-- client_commands inside the same statement would read a snapshot taken before the other
-- request committed).
ALTER TABLE clients
    ADD COLUMN lockout_until timestamptz,
    ADD COLUMN lockout_command_id uuid;
