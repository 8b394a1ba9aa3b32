INSERT INTO rejected_messages (topic, reason, detail, payload_size, payload)
VALUES (:#topic, :#reason, :#detail, :#payload_size, :#payload)
