-- nimbus-codes schema 15: retired OUs and services. A retired service takes no
-- new sessions and offers nothing, but stays in every report and export with
-- its history; an OU is retired once nothing under it is active. Restoring
-- deletes the row. A service or OU that was never used may be deleted
-- outright: the rules of schema 6 still refuse it while anything names it,
-- and so do these rows.

CREATE TABLE ou_retired (
    ou_id      INTEGER PRIMARY KEY REFERENCES ou (id),
    retired_at TEXT NOT NULL
) STRICT;

CREATE TABLE service_retired (
    service_id INTEGER PRIMARY KEY REFERENCES service (id),
    retired_at TEXT NOT NULL
) STRICT;

-- Foreign keys are off in the sqlite3 shell by default: a retired OU or
-- service is not deleted there either.
CREATE TRIGGER ou_retired_no_delete BEFORE DELETE ON ou
WHEN EXISTS (SELECT 1 FROM ou_retired WHERE ou_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'an OU that anything names is never deleted');
END;
CREATE TRIGGER service_retired_no_delete BEFORE DELETE ON service
WHEN EXISTS (SELECT 1 FROM service_retired WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service_code WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service_extension WHERE service_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service_wrap_up WHERE service_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'a service with settings or history is never deleted');
END;
