-- One step of a power operation as a client event (power_*)
INSERT INTO client_events (client_uuid, type, command_id, detail)
VALUES (:#clientUuid, :#powerEventType, :#commandId, CAST(:#powerEventDetail AS jsonb))
