-- Starting point of the event log (EventLog): the newest event at start-up
SELECT max(id) FROM client_events
