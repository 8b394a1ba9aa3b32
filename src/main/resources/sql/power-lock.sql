-- Take the outlet for one power operation: succeeds when nobody holds it or the holder's lease has
-- run out (a service that died mid-operation). A concurrent attempt waits for the row lock and then
-- re-checks the committed row, so two operations never hold one outlet at once - across instances.
WITH ins AS (
    INSERT INTO power_outlet_locks (outlet_key, command_id, client_uuid, holder, locked_at, lease_until)
    VALUES (:#outletKey, :#commandId, :#clientUuid, :#holder, now(), now() + make_interval(secs => CAST(:#lease_s AS integer)))
    ON CONFLICT (outlet_key) DO UPDATE SET
        command_id = EXCLUDED.command_id, client_uuid = EXCLUDED.client_uuid, holder = EXCLUDED.holder,
        locked_at = EXCLUDED.locked_at, lease_until = EXCLUDED.lease_until,
        intent_at = CASE WHEN power_outlet_locks.command_id = EXCLUDED.command_id THEN power_outlet_locks.intent_at END,
        step = CASE WHEN power_outlet_locks.command_id = EXCLUDED.command_id THEN power_outlet_locks.step END
    WHERE power_outlet_locks.lease_until < now() OR power_outlet_locks.command_id = EXCLUDED.command_id
    RETURNING command_id
)
SELECT (SELECT count(*) FROM ins) AS acquired,
       (SELECT command_id FROM power_outlet_locks WHERE outlet_key = :#outletKey) AS holder
