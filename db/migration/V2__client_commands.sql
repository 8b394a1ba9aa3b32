-- Commands to displays with a monotonic acknowledgement lifecycle (DESIGN.md §4).

CREATE TABLE client_commands (
    id                uuid PRIMARY KEY,
    client_uuid       uuid NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    action            text NOT NULL,
    status            text NOT NULL DEFAULT 'queued',
    -- who asked: an operator through the API (manual) or the crash auto-recovery
    origin            text NOT NULL DEFAULT 'manual',
    -- free text: the operator's reason, or the recovery decision
    reason            text,
    requested_by      text NOT NULL DEFAULT 'api',
    -- true when an operator overrode the lockout
    forced            boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    published_at      timestamptz,
    -- first acknowledgement from the device
    acked_at          timestamptz,
    finished_at       timestamptz,
    expires_at        timestamptz NOT NULL,
    -- reboot_host / power_cycle complete when a heartbeat carries a boot_id other than this one
    boot_id_at_issue  text,
    detail            text,
    version           integer NOT NULL DEFAULT 0,
    CONSTRAINT client_commands_action_chk
        CHECK (action IN ('restart_app', 'reboot_host', 'shutdown_host', 'power_cycle')),
    CONSTRAINT client_commands_status_chk
        CHECK (status IN ('queued', 'published', 'accepted', 'executing',
                          'completed', 'failed', 'rejected', 'expired', 'cancelled')),
    CONSTRAINT client_commands_origin_chk CHECK (origin IN ('manual', 'crash_recovery'))
);

CREATE INDEX client_commands_client_idx ON client_commands (client_uuid, created_at DESC);
CREATE INDEX client_commands_open_idx ON client_commands (expires_at)
    WHERE status IN ('queued', 'published', 'accepted', 'executing');
-- at most one open recovery command per client, whatever runs the sweep (two sweeps, two instances)
CREATE UNIQUE INDEX client_commands_one_open_recovery_idx ON client_commands (client_uuid)
    WHERE origin = 'crash_recovery' AND status IN ('queued', 'published', 'accepted', 'executing');

-- order of the lifecycle: a transition is allowed only to a higher rank (terminal states share the top)
CREATE FUNCTION command_status_rank(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
             WHEN 'queued' THEN 0 WHEN 'published' THEN 1 WHEN 'accepted' THEN 2 WHEN 'executing' THEN 3
             ELSE 4 END
$$;

ALTER TABLE client_events ADD COLUMN command_id uuid;
CREATE INDEX client_events_command_idx ON client_events (command_id) WHERE command_id IS NOT NULL;
