-- Clients the recovery sweep looks at (crashed or stale), with the facts the ladder needs.
SELECT c.uuid, c.liveness_state, c.recovery_state, c.recovery_last_decision,
       CAST(EXTRACT(EPOCH FROM (now() - COALESCE(c.down_since, c.liveness_since))) AS bigint) AS down_for_s,
       -- attempts in the budget window, counted again from zero after an operator cleared an
       -- exhausted client or it reset; a cancelled attempt still counts (no instant re-issue)
       (SELECT count(*) FROM client_commands k
         WHERE k.client_uuid = c.uuid AND k.origin = 'crash_recovery'
           AND k.created_at > GREATEST(now() - make_interval(secs => CAST(:#budget_window_s AS integer)),
                                       COALESCE(c.recovery_state_since, '-infinity'))) AS attempts_in_window,
       (SELECT CAST(floor(EXTRACT(EPOCH FROM (now() - max(k.created_at)))) AS bigint) FROM client_commands k
         WHERE k.client_uuid = c.uuid AND k.origin = 'crash_recovery') AS last_attempt_age_s,
       (SELECT k.action FROM client_commands k
         WHERE k.client_uuid = c.uuid AND k.origin = 'crash_recovery' AND k.status <> 'cancelled'
           AND k.created_at >= COALESCE(c.down_since, c.liveness_since)
         ORDER BY k.created_at DESC LIMIT 1) AS episode_last_action,
       (SELECT count(*) FROM client_commands k
         WHERE k.client_uuid = c.uuid AND k.status IN ('queued', 'published', 'accepted', 'executing')) AS open_commands,
       CASE WHEN c.lockout_until > now()
            THEN CAST(ceil(EXTRACT(EPOCH FROM (c.lockout_until - now()))) AS bigint) END AS lockout_remaining_s,
       -- a power target the ladder may use: one whose outlet is not protected (a protected outlet
       -- feeds network gear or the controller and is never switched by the ladder)
       EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = c.uuid
                 AND NOT EXISTS (SELECT 1 FROM power_targets o WHERE o.outlet_key = p.outlet_key AND o.protected)) AS has_power_target,
       EXISTS (SELECT 1 FROM power_targets p WHERE p.client_uuid = c.uuid) AS has_any_power_target
FROM clients c
WHERE c.liveness_state IN ('crashed', 'stale')
  -- the liveness sweep has not caught up yet with a display that is back: a stale one that spoke
  -- within the stale threshold, a crashed one whose latest message no longer says crashed
  AND NOT (c.liveness_state = 'stale'
           AND c.last_alive_at > now() - make_interval(secs => CAST(:#stale_after_s AS integer)))
  AND NOT (c.liveness_state = 'crashed' AND c.process_status IS DISTINCT FROM 'crashed')
ORDER BY c.uuid
