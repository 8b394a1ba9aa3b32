-- Issue #8, ingest that scales: heartbeat and health snapshots are written in batches
-- (sql/upsert-snapshots.sql) and may reach the database out of order (a QoS 1 redelivery, several
-- service instances on one shared subscription). Two facts let the upsert tell an older snapshot
-- from a newer one:
--   last_snapshot_ts / last_snapshot_at: the device time (`ts`) and the server receive time of the
--     snapshot the row holds;
--   previous_boot_ids: the boots this client had before boot_id (newest last, at most 16), so a
--     redelivered snapshot of an earlier boot is recognised as old instead of as a reboot.

ALTER TABLE clients
    ADD COLUMN last_snapshot_ts  timestamptz,
    ADD COLUMN last_snapshot_at  timestamptz,
    ADD COLUMN previous_boot_ids text[] NOT NULL DEFAULT '{}';

-- the boots already recorded by reboot_detected events
UPDATE clients c
   SET previous_boot_ids = b.ids
  FROM (SELECT client_uuid, array_agg(prev ORDER BY last_id) AS ids
          FROM (SELECT client_uuid, detail ->> 'previous_boot_id' AS prev, max(id) AS last_id
                  FROM client_events
                 WHERE type = 'reboot_detected' AND detail ->> 'previous_boot_id' IS NOT NULL
                 GROUP BY 1, 2) e
         GROUP BY client_uuid) b
 WHERE b.client_uuid = c.uuid;
UPDATE clients SET previous_boot_ids = array_remove(previous_boot_ids, boot_id) WHERE boot_id IS NOT NULL;

-- How an incoming snapshot (boot, ts) relates to the stored one:
--   'old_boot' its boot_id is one of the client's earlier boots: old news, changes nothing;
--   'new_boot' its boot_id differs from the stored one and was never seen: a reboot, always applied;
--   'older'    same boot (or no boot_id) and its device time is before the stored snapshot's:
--              only liveness counts. The device time orders snapshots only when the stored one was
--              not ahead of the server clock by more than 60 s when it arrived (a display whose
--              clock ran ahead and was corrected backwards is not ignored until it catches up);
--   'newer'    anything else (receive order).
CREATE FUNCTION snapshot_verdict(stored_boot text, previous_boots text[], stored_ts timestamptz,
                                 stored_at timestamptz, boot text, ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN boot IS NOT NULL AND stored_boot IS NOT NULL AND boot <> stored_boot
             AND boot = ANY (previous_boots) THEN 'old_boot'
        WHEN boot IS NOT NULL AND stored_boot IS NOT NULL AND boot <> stored_boot THEN 'new_boot'
        WHEN ts IS NOT NULL AND stored_ts IS NOT NULL AND ts < stored_ts
             AND (stored_at IS NULL OR stored_ts <= stored_at + interval '60 seconds') THEN 'older'
        ELSE 'newer'
    END
$$;

-- The earlier boots after a snapshot of boot `boot` was applied to a row with (history, stored_boot):
-- the stored boot moves into the history when it changed, then any further earlier boots
-- (`earlier`); newest last, without the current boot, at most 16.
CREATE FUNCTION boot_history(history text[], stored_boot text, earlier text[], boot text) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(array_agg(b ORDER BY n), '{}')
      FROM (SELECT b, max(n) AS n
              FROM unnest(COALESCE(history, '{}')
                          || CASE WHEN boot IS NOT NULL AND stored_boot IS NOT NULL AND boot <> stored_boot
                                  THEN ARRAY[stored_boot] ELSE '{}'::text[] END
                          || COALESCE(earlier, '{}')) WITH ORDINALITY AS h(b, n)
             WHERE b IS NOT NULL AND b IS DISTINCT FROM COALESCE(boot, stored_boot)
             GROUP BY b
             ORDER BY max(n) DESC
             LIMIT 16) newest
$$;
