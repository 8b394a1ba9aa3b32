-- Power targets and outlet locks for hard power cycles (DESIGN.md §3, docs/power-drivers.md).

-- One power target per client: the driver (a kamelet routes/kamelets/<driver>-power-action.kamelet.yaml)
-- and its parameters. Secrets are never stored: secret_ref names an environment variable (or
-- NAME_FILE) that holds the plug password or token.
CREATE TABLE power_targets (
    client_uuid  uuid PRIMARY KEY REFERENCES clients (uuid) ON DELETE CASCADE,
    driver       text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    secret_ref   text,
    -- an outlet that feeds network gear or the controller: the service never switches it off
    protected    boolean NOT NULL DEFAULT false,
    -- the physical outlet: driver + its parameters (defaults filled in, secrets excluded); two clients
    -- on one outlet share the key, two outlets of one PDU do not
    outlet_key   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT 'api'
);

CREATE INDEX power_targets_outlet_idx ON power_targets (outlet_key);

-- One power operation per outlet at a time, across service instances: a lease, taken by an
-- INSERT ... ON CONFLICT that only succeeds when the row is free or its lease has run out (a
-- service that died mid-operation does not block the outlet for ever).
CREATE TABLE power_outlet_locks (
    outlet_key   text PRIMARY KEY,
    command_id   uuid NOT NULL,
    client_uuid  uuid NOT NULL,
    holder       text NOT NULL,
    locked_at    timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz NOT NULL
);
