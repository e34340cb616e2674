-- nimbus-codes schema 8: session ids are unique per service, not across all
-- services: the call systems of two services may each have a session "s-1".
-- The key leads with the id, so that a lookup by id alone still uses it.
--
-- SQLite cannot change a table's constraints in place, so the session table
-- is made anew: every row keeps its id (conclusions, the ledger and exports
-- name sessions by it), and the indexes and triggers of schemas 3 to 7 come
-- back as they were, but for two that the new key asks more of: an INSERT OR
-- REPLACE is refused over a concluded session of the same service and id,
-- and a session keeps its service as it keeps its ids (an UPDATE OR REPLACE
-- moving it onto a concluded session's service and id would delete that one
-- without firing a delete trigger). DROP TABLE fires no trigger either; the
-- foreign keys that name sessions are checked at commit, when every row is back.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE session_before_8 AS SELECT * FROM main.session;
DROP TABLE main.session;

CREATE TABLE session (
    id          INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    service_id  INTEGER NOT NULL REFERENCES service (id),
    user        TEXT NOT NULL CHECK (length(user) >= 1),   -- login name
    direction   TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER CHECK (ended_at IS NULL OR ended_at >= started_at), -- NULL while active
    outcome     TEXT REFERENCES outcome (name),             -- NULL while active
    caller      TEXT NOT NULL DEFAULT '',
    CHECK (ended_at IS NOT NULL OR outcome IS NULL),
    UNIQUE (external_id, service_id)                        -- an id is unique in its service
) STRICT;

INSERT INTO session (id, external_id, service_id, user, direction, started_at, ended_at,
                     outcome, caller)
SELECT id, external_id, service_id, user, direction, started_at, ended_at, outcome, caller
FROM temp.session_before_8;
DROP TABLE temp.session_before_8;

-- As schemas 3 and 5 made them.
CREATE INDEX session_by_service ON session (service_id, started_at, ended_at);
CREATE INDEX session_by_user ON session (user, started_at);

-- As schema 3 made them, but for the replace rule: the same service and id.
CREATE TRIGGER session_concluded_no_update BEFORE UPDATE ON session
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = OLD.id)
 AND NOT (OLD.ended_at IS NULL AND OLD.outcome IS NULL
          AND NEW.id = OLD.id AND NEW.external_id = OLD.external_id
          AND NEW.service_id = OLD.service_id AND NEW.user = OLD.user
          AND NEW.direction = OLD.direction AND NEW.started_at = OLD.started_at
          AND NEW.caller = OLD.caller)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_concluded_no_delete BEFORE DELETE ON session
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_concluded_no_replace BEFORE INSERT ON session
WHEN EXISTS (SELECT 1 FROM session s JOIN conclusion c ON c.session_id = s.id
             WHERE s.external_id = NEW.external_id AND s.service_id = NEW.service_id)
  OR EXISTS (SELECT 1 FROM conclusion WHERE session_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;

-- As schema 6 made it, with the service: the key is the service and the id.
CREATE TRIGGER session_keys_are_fixed BEFORE UPDATE ON session
WHEN NEW.id IS NOT OLD.id OR NEW.external_id IS NOT OLD.external_id
  OR NEW.service_id IS NOT OLD.service_id
BEGIN
    SELECT RAISE(ABORT, 'a session keeps its id, external id and service');
END;

PRAGMA defer_foreign_keys = OFF;
