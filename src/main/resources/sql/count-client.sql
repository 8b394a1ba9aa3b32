SELECT count(*) FROM clients WHERE uuid = :#clientUuid
