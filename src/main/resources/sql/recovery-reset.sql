-- End of an outage: clients back online forget their last decision (the next outage is a new
-- episode); an exhausted client that has run stable for reset_after_s is eligible again.
WITH reset AS (
    UPDATE clients
       SET recovery_state = 'idle', recovery_state_since = now(), recovery_last_decision = NULL
     WHERE recovery_state = 'exhausted' AND liveness_state = 'online'
       AND liveness_since < now() - make_interval(secs => CAST(:#reset_after_s AS integer))
    RETURNING uuid
), ev AS (
    INSERT INTO client_events (client_uuid, type, detail)
    SELECT uuid, 'recovery_reset', jsonb_build_object('reason', 'stable for the reset period', 'reset_after_s', CAST(:#reset_after_s AS integer))
    FROM reset
), episode_over AS (
    UPDATE clients SET recovery_last_decision = NULL
     WHERE liveness_state = 'online' AND recovery_state = 'idle' AND recovery_last_decision IS NOT NULL
    RETURNING uuid
)
SELECT (SELECT count(*) FROM reset) AS reset
