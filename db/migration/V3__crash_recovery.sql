-- Crash auto-recovery bookkeeping (DESIGN.md §5).

ALTER TABLE clients
    -- idle: recovery may act; exhausted: the budget is spent, left to people until stable or cleared
    ADD COLUMN recovery_state text NOT NULL DEFAULT 'idle',
    ADD COLUMN recovery_state_since timestamptz,
    -- the last decision written as an event, so a decision repeated every sweep is written once
    ADD COLUMN recovery_last_decision text,
    ADD CONSTRAINT clients_recovery_state_chk CHECK (recovery_state IN ('idle', 'exhausted'));

CREATE INDEX clients_recovery_candidates_idx ON clients (liveness_state) WHERE liveness_state IN ('crashed', 'stale');

-- fleet-wide state, one row: the recovery circuit breaker
CREATE TABLE fleet_state (
    id                     integer PRIMARY KEY CHECK (id = 1),
    recovery_paused        boolean NOT NULL DEFAULT false,
    recovery_paused_since  timestamptz,
    recovery_paused_detail jsonb
);
INSERT INTO fleet_state (id) VALUES (1);

-- fleet-wide history (circuit breaker pauses and resumes)
CREATE TABLE fleet_events (
    id          bigserial PRIMARY KEY,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
