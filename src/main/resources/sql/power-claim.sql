-- The shared power route takes a queued power_cycle command: queued -> executing (one
-- compare-and-set: of two instances or a request and the sweep, exactly one claims it), and reads
-- the power target it runs on. acked_at stays NULL until the outlet has been switched, so the
-- boot timeout (sweep-commands.sql) counts from the switching, not from the wait for the outlet.
WITH upd AS (
    UPDATE client_commands k
       SET status = 'executing', version = k.version + 1, detail = 'power cycle in progress'
     WHERE k.id = :#commandId AND k.action = 'power_cycle' AND k.status = 'queued' AND k.expires_at > now()
    RETURNING k.id, k.client_uuid, k.forced
), ev AS (
    INSERT INTO client_events (client_uuid, type, command_id, detail)
    SELECT client_uuid, 'command_executing', id, jsonb_build_object('from', 'queued', 'by', 'power route') FROM upd
)
SELECT upd.id AS command_id, upd.client_uuid, upd.forced, p.driver, p.params, p.secret_ref, p.outlet_key,
       EXISTS (SELECT 1 FROM power_targets o WHERE o.outlet_key = p.outlet_key AND o.protected) AS outlet_protected
FROM upd
LEFT JOIN power_targets p ON p.client_uuid = upd.client_uuid
