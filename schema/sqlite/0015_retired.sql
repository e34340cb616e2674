-- nimbus-codes schema 15: retired OUs and services. A retired service takes no
-- new sessions and offers nothing, but stays in every report and export with
-- its history; an OU is retired once nothing under it is active. Restoring
-- deletes the row. A service or OU that was never used may be deleted
-- outright: the rules of schema 6 still refuse it while anything names it,
-- and so do the rules below, whoever sends the statement.

CREATE TABLE ou_retired (
    ou_id      INTEGER PRIMARY KEY REFERENCES ou (id),
    retired_at INTEGER NOT NULL
) STRICT;

CREATE TABLE service_retired (
    service_id INTEGER PRIMARY KEY REFERENCES service (id),
    retired_at INTEGER NOT NULL
) STRICT;

-- No session of a call that began once its service was retired (a call that
-- began before may still arrive late).
CREATE TRIGGER session_of_retired_service BEFORE INSERT ON session
WHEN EXISTS (SELECT 1 FROM service_retired
             WHERE service_id = NEW.service_id AND retired_at <= NEW.started_at)
BEGIN
    SELECT RAISE(ABORT, 'a retired service takes no new sessions');
END;

-- Used is for good: a retired OU or service, one with settings, and one with
-- any audit record since its (latest) creation but that creation is never
-- deleted. Foreign keys are off in the sqlite3 shell by default, so these
-- hold there too.
CREATE TRIGGER ou_used_no_delete BEFORE DELETE ON ou
WHEN EXISTS (SELECT 1 FROM ou_retired WHERE ou_id = OLD.id)
  OR EXISTS (SELECT 1 FROM audit a
             WHERE a.target = 'ou ' || OLD.path AND a.action <> 'ou.create'
               AND a.id > (SELECT max(id) FROM audit
                           WHERE target = 'ou ' || OLD.path AND action = 'ou.create'))
BEGIN
    SELECT RAISE(ABORT, 'an OU that was used is never deleted');
END;
CREATE TRIGGER service_used_no_delete BEFORE DELETE ON service
WHEN EXISTS (SELECT 1 FROM service_retired WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service_code WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service_extension WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service_wrap_up WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM audit a
             WHERE a.target = 'service ' || OLD.name AND a.action <> 'service.create'
               AND a.id > (SELECT max(id) FROM audit
                           WHERE target = 'service ' || OLD.name AND action = 'service.create'))
BEGIN
    SELECT RAISE(ABORT, 'a service that was used is never deleted');
END;
