-- nimbus-codes schema 4: the rules that schema/postgresql/ enforced from the
-- start and SQLite did not, so that both engines refuse the same raw SQL.

-- A code list entry changed in place still holds a live code of its list's type.
CREATE TRIGGER service_code_type_matches_update BEFORE UPDATE ON service_code
WHEN (SELECT type FROM code WHERE id = NEW.code_id) IS NOT NEW.list
  OR (SELECT deleted_at FROM code WHERE id = NEW.code_id) IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a service list holds only undeleted codes of its own type');
END;

-- The outcome table is static: no additions either.
CREATE TRIGGER outcome_is_static_insert BEFORE INSERT ON outcome
BEGIN
    SELECT RAISE(ABORT, 'the outcome table is static');
END;
