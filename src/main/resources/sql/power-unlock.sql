-- Give the outlet back (only the lock this command holds)
DELETE FROM power_outlet_locks WHERE outlet_key = :#outletKey AND command_id = :#commandId
