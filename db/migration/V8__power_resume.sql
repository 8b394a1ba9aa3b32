-- Resuming power cycles that a service crash interrupted (docs/power-drivers.md, "Resume").
-- The outlet lock row is also the durable record of the operation in progress: intent_at is set
-- when the power_intent event is written (before the outlet is switched), step is the last step
-- written (power_off, power_wait, ...), and every step renews the lease. A row whose intent is
-- written and whose lease ran out belongs to a service that died mid-cycle: the resume sweep
-- switches that outlet on again. The row is deleted when the operation ends.
ALTER TABLE power_outlet_locks
    ADD COLUMN intent_at timestamptz,
    ADD COLUMN step text;
