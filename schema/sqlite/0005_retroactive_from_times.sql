-- nimbus-codes schema 5: reports derive "retroactive" from the times (a
-- conclusion later than the call's end), so that an end imported after the
-- conclusion counts. The service index carries the call's end too, so that
-- counting a period's sessions still reads the index alone, not every row.
DROP INDEX session_by_service;
CREATE INDEX session_by_service ON session (service_id, started_at, ended_at);
