-- infoscreen-fleet core schema (DESIGN.md §3).
-- All timestamps are timestamptz (UTC on the wire); durations are seconds.

CREATE TABLE clients (
    uuid                     uuid PRIMARY KEY,
    hostname                 text,
    ip                       text,
    app_version              text,
    first_seen_at            timestamptz NOT NULL DEFAULT now(),
    -- server receive time of the last device-originated message (the liveness clock)
    last_alive_at            timestamptz,
    -- the device's own "ts" of that message, kept beside it (device clocks drift)
    last_device_ts           timestamptz,
    last_health_at           timestamptz,
    process_status           text,
    boot_id                  text,
    -- from the retained last-will topic infoscreen/{uuid}/status
    connection_state         text,
    connection_state_since   timestamptz,
    health                   jsonb,
    service_failed_at        timestamptz,
    service_failed_unit      text,
    mqtt_reconnect_count     integer,
    mqtt_last_disconnect_at  timestamptz,
    -- online | crashed | stale | offline, maintained by the liveness sweep
    liveness_state           text NOT NULL DEFAULT 'online',
    liveness_since           timestamptz NOT NULL DEFAULT now(),
    -- start of the current outage (first non-online state), NULL while online
    down_since               timestamptz,
    CONSTRAINT clients_liveness_state_chk
        CHECK (liveness_state IN ('online', 'crashed', 'stale', 'offline')),
    CONSTRAINT clients_connection_state_chk
        CHECK (connection_state IS NULL OR connection_state IN ('online', 'offline'))
);

-- the sweep looks for silent clients and for state changes; REST filters by state
CREATE INDEX clients_last_alive_at_idx ON clients (last_alive_at);
CREATE INDEX clients_liveness_state_idx ON clients (liveness_state);
CREATE INDEX clients_service_failed_idx ON clients (service_failed_at) WHERE service_failed_at IS NOT NULL;

CREATE TABLE client_events (
    id            bigserial PRIMARY KEY,
    client_uuid   uuid NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    type          text NOT NULL,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    -- device-provided identifier used for de-duplication (service_failed.event_id)
    dedup_key     text,
    detail        jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX client_events_client_idx ON client_events (client_uuid, occurred_at DESC, id DESC);
CREATE UNIQUE INDEX client_events_dedup_idx ON client_events (client_uuid, type, dedup_key)
    WHERE dedup_key IS NOT NULL;

CREATE TABLE rejected_messages (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL DEFAULT now(),
    topic         text NOT NULL,
    reason        text NOT NULL,
    detail        text,
    payload_size  integer NOT NULL,
    -- first bytes of the payload (configurable), decoded leniently as UTF-8
    payload       text
);

CREATE INDEX rejected_messages_received_at_idx ON rejected_messages (received_at DESC);
