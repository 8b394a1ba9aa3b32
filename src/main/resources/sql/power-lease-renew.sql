-- Renew the lease of the outlet lock this command holds (one check of a verification: the loop
-- writes no event per check, so without this a long verification could outlast the lease and the
-- resume sweep would take over a live operation).
UPDATE power_outlet_locks
   SET lease_until = GREATEST(lease_until, now() + make_interval(secs => CAST(:#lease_s AS integer) + CAST(:#off_s AS integer)))
 WHERE outlet_key = :#outletKey AND command_id = :#commandId
