-- Fleet circuit breaker: when more than :breaker_share of the recently seen clients are stale at
-- once, that is a network or broker outage, not many crashed displays: pause auto-recovery.
-- Hysteresis: once paused, recovery resumes only when the stale share has dropped to
-- :breaker_resume_share or below, so a fleet hovering at the threshold does not flap between
-- paused and running. The transition (pause / resume) is written once as a fleet event; the
-- answer is the state now.
WITH stats AS (
    SELECT count(*) FILTER (WHERE last_alive_at > now() - make_interval(secs => CAST(:#breaker_window_s AS integer))) AS recent,
           count(*) FILTER (WHERE liveness_state = 'stale'
                              AND last_alive_at > now() - make_interval(secs => CAST(:#breaker_window_s AS integer))) AS stale
    FROM clients
), decision AS (
    SELECT recent, stale,
           recent >= CAST(:#breaker_min_clients AS integer)
               AND (stale > CAST(:#breaker_share AS double precision) * recent
                    OR ((SELECT recovery_paused FROM fleet_state WHERE id = 1)
                        AND stale > CAST(:#breaker_resume_share AS double precision) * recent)) AS trip
    FROM stats
), upd AS (
    UPDATE fleet_state f
       SET recovery_paused = d.trip,
           recovery_paused_since = CASE WHEN d.trip THEN now() END,
           recovery_paused_detail = CASE WHEN d.trip THEN jsonb_build_object(
               'recent_clients', d.recent, 'stale_clients', d.stale,
               'stale_share', round(CAST(d.stale AS numeric) / GREATEST(d.recent, 1), 3),
               'threshold', CAST(:#breaker_share AS double precision)) END
      FROM decision d
     WHERE f.id = 1 AND f.recovery_paused <> d.trip
    RETURNING f.recovery_paused, d.recent, d.stale
), ev AS (
    INSERT INTO fleet_events (type, detail)
    SELECT CASE WHEN recovery_paused THEN 'recovery_paused' ELSE 'recovery_resumed' END,
           jsonb_build_object('reason', CASE WHEN recovery_paused
                                             THEN 'more than the threshold share of recently seen clients are stale: network or broker outage suspected'
                                             ELSE 'stale share back at or under the resume threshold' END,
                              'recent_clients', recent, 'stale_clients', stale,
                              'threshold', CAST(:#breaker_share AS double precision),
                              'resume_threshold', CAST(:#breaker_resume_share AS double precision))
    FROM upd
)
SELECT trip AS paused FROM decision
