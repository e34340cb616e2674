-- nimbus-codes schema 5 for PostgreSQL, as schema/sqlite/0005: the service
-- index carries the call's end, which reports compare with the conclusion's
-- time to tell a retroactive conclusion.
DROP INDEX session_by_service;
CREATE INDEX session_by_service ON session (service_id, started_at) INCLUDE (ended_at);
