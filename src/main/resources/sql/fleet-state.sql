SELECT recovery_paused, recovery_paused_since, recovery_paused_detail FROM fleet_state WHERE id = 1
