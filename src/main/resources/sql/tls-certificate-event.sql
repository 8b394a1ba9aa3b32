-- One fleet event per threshold crossing of a watched TLS certificate (source ca, client, broker):
-- tls_certificate_expiring (fewer than warn_days left), tls_certificate_expired (or not yet
-- valid), tls_certificate_renewed (back to ok). Nothing is written while the state stays the same,
-- also across restarts: the last such event of the source is the remembered state ('ok' if none).
-- Answers the type of the event written (no row when nothing crossed).
WITH last AS (
    SELECT detail ->> 'state' AS state
      FROM fleet_events
     WHERE type IN ('tls_certificate_expiring', 'tls_certificate_expired', 'tls_certificate_renewed')
       AND detail ->> 'source' = CAST(:#source AS text)
     ORDER BY id DESC
     LIMIT 1
)
INSERT INTO fleet_events (type, detail)
SELECT CASE CAST(:#state AS text)
           WHEN 'expiring' THEN 'tls_certificate_expiring'
           WHEN 'ok' THEN 'tls_certificate_renewed'
           ELSE 'tls_certificate_expired' END,
       jsonb_build_object('source', CAST(:#source AS text),
                          'state', CAST(:#state AS text),
                          'subject', CAST(:#subject AS text),
                          'not_after', CAST(:#not_after AS text),
                          'days_left', CAST(:#days_left AS double precision),
                          'fingerprint', CAST(:#fingerprint AS text),
                          'warn_days', CAST(:#warn_days AS integer))
 WHERE CAST(:#state AS text) IN ('ok', 'expiring', 'expired', 'not_yet_valid')
   AND COALESCE((SELECT state FROM last), 'ok') <> CAST(:#state AS text)
   -- expired and not yet valid are one alarm
   AND NOT (COALESCE((SELECT state FROM last), 'ok') IN ('expired', 'not_yet_valid')
            AND CAST(:#state AS text) IN ('expired', 'not_yet_valid'))
RETURNING type
