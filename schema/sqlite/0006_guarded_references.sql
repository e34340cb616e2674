-- nimbus-codes schema 6: the rows that permanent records stand on keep standing.
-- A conclusion names its session, the session its service, the service its
-- OU, and conclusions and audit records name codes and OUs. None of those rows
-- may be deleted while referenced, re-keyed or moved, whether foreign keys are
-- on or off (the sqlite3 shell's default). REPLACE, the conflict clause of
-- INSERT OR REPLACE and UPDATE OR REPLACE, deletes the row in its way without
-- firing delete triggers: so no statement may take the key of another row
-- either, and the refusal comes before SQLite resolves the conflict.
-- docs/sessions.md lists the statements refused.

-- Sessions: the id and the call system's id never change, so no session can
-- take another's place (UPDATE OR REPLACE ... SET external_id = a concluded one's).
CREATE TRIGGER session_keys_are_fixed BEFORE UPDATE ON session
WHEN NEW.id IS NOT OLD.id OR NEW.external_id IS NOT OLD.external_id
BEGIN
    SELECT RAISE(ABORT, 'a session keeps its id and external id');
END;

-- Services: never deleted while they have sessions, never re-keyed or moved
-- to another OU, never given another service's name.
CREATE TRIGGER service_keys_are_fixed BEFORE UPDATE ON service
WHEN NEW.id IS NOT OLD.id OR NEW.ou_id IS NOT OLD.ou_id
  OR (NEW.name_key IS NOT OLD.name_key
      AND EXISTS (SELECT 1 FROM service WHERE name_key = NEW.name_key AND id <> OLD.id))
BEGIN
    SELECT RAISE(ABORT, 'a service keeps its id and OU, and never takes another service''s name');
END;
CREATE TRIGGER service_no_delete BEFORE DELETE ON service
WHEN EXISTS (SELECT 1 FROM session WHERE service_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'a service with sessions is never deleted');
END;
CREATE TRIGGER service_no_replace BEFORE INSERT ON service
WHEN EXISTS (SELECT 1 FROM service WHERE id = NEW.id OR name_key = NEW.name_key)
BEGIN
    SELECT RAISE(ABORT, 'a service is never replaced');
END;

-- OUs: a row is its path; it is never changed, and never deleted while
-- anything names it (a child OU, a service, a code, an audit record).
CREATE TRIGGER ou_is_fixed BEFORE UPDATE ON ou
BEGIN
    SELECT RAISE(ABORT, 'an OU never changes');
END;
CREATE TRIGGER ou_no_delete BEFORE DELETE ON ou
WHEN EXISTS (SELECT 1 FROM ou WHERE parent_id = OLD.id)
  OR EXISTS (SELECT 1 FROM service WHERE ou_id = OLD.id)
  OR EXISTS (SELECT 1 FROM code WHERE ou_id = OLD.id)
  OR EXISTS (SELECT 1 FROM audit WHERE ou_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'an OU that anything names is never deleted');
END;
CREATE TRIGGER ou_no_replace BEFORE INSERT ON ou
WHEN EXISTS (SELECT 1 FROM ou WHERE id = NEW.id OR path_key = NEW.path_key
                                 OR (NEW.parent_id IS NULL AND parent_id IS NULL))
BEGIN
    SELECT RAISE(ABORT, 'an OU is never replaced');
END;

-- Codes: renamed and retired, never re-keyed, retyped, moved or given the
-- name of another live code of their type at their OU (which REPLACE would erase).
CREATE TRIGGER code_keys_are_fixed BEFORE UPDATE ON code
WHEN NEW.id IS NOT OLD.id OR NEW.type IS NOT OLD.type OR NEW.ou_id IS NOT OLD.ou_id
  OR NEW.created_at IS NOT OLD.created_at
  OR (NEW.deleted_at IS NULL
      AND EXISTS (SELECT 1 FROM code WHERE ou_id = NEW.ou_id AND type = NEW.type
                                       AND name_key = NEW.name_key AND deleted_at IS NULL
                                       AND id <> OLD.id))
BEGIN
    SELECT RAISE(ABORT, 'codes are never erased; a code keeps its id, type and OU');
END;
