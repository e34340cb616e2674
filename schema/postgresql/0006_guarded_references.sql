-- nimbus-codes schema 6 for PostgreSQL, as schema/sqlite/0006: the rows that
-- permanent records stand on (sessions, services, OUs, codes) are never
-- deleted while referenced, re-keyed or moved. Foreign keys refuse some of
-- this already, but only some (a service moved to another existing OU) and
-- only while they are in place; these rules hold for every role.

CREATE FUNCTION session_keys_are_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.external_id IS DISTINCT FROM OLD.external_id THEN
        RAISE EXCEPTION 'a session keeps its id and external id'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER session_keys_are_fixed BEFORE UPDATE ON session
    FOR EACH ROW EXECUTE FUNCTION session_keys_are_fixed();

CREATE FUNCTION service_keys_are_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.ou_id IS DISTINCT FROM OLD.ou_id THEN
        RAISE EXCEPTION 'a service keeps its id and OU, and never takes another service''s name'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER service_keys_are_fixed BEFORE UPDATE ON service
    FOR EACH ROW EXECUTE FUNCTION service_keys_are_fixed();

CREATE FUNCTION service_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM session WHERE service_id = OLD.id) THEN
        RAISE EXCEPTION 'a service with sessions is never deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER service_no_delete BEFORE DELETE ON service
    FOR EACH ROW EXECUTE FUNCTION service_no_delete();
CREATE TRIGGER service_no_truncate BEFORE TRUNCATE ON service
    FOR EACH STATEMENT EXECUTE FUNCTION nimbus_refuse('a service with sessions is never deleted');

CREATE TRIGGER ou_is_fixed BEFORE UPDATE ON ou
    FOR EACH ROW EXECUTE FUNCTION nimbus_refuse('an OU never changes');
CREATE FUNCTION ou_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ou WHERE parent_id = OLD.id)
       OR EXISTS (SELECT 1 FROM service WHERE ou_id = OLD.id)
       OR EXISTS (SELECT 1 FROM code WHERE ou_id = OLD.id)
       OR EXISTS (SELECT 1 FROM audit WHERE ou_id = OLD.id) THEN
        RAISE EXCEPTION 'an OU that anything names is never deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER ou_no_delete BEFORE DELETE ON ou
    FOR EACH ROW EXECUTE FUNCTION ou_no_delete();
CREATE TRIGGER ou_no_truncate BEFORE TRUNCATE ON ou
    FOR EACH STATEMENT EXECUTE FUNCTION nimbus_refuse('an OU that anything names is never deleted');

CREATE FUNCTION code_keys_are_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.type IS DISTINCT FROM OLD.type
       OR NEW.ou_id IS DISTINCT FROM OLD.ou_id OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'codes are never erased; a code keeps its id, type and OU'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER code_keys_are_fixed BEFORE UPDATE ON code
    FOR EACH ROW EXECUTE FUNCTION code_keys_are_fixed();

-- The trigger functions find their tables in the store's own schema before
-- anywhere else: a temporary table of the same name (pg_temp comes first
-- unless it is named) must not stand in for a permanent one. PostgreSQL's own
-- advice for such functions: a fixed search_path with pg_temp last.
DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['nimbus_refuse()', 'service_code_type_matches()',
                                'conclusion_part_within_count()', 'session_concluded_is_final()',
                                'session_keys_are_fixed()', 'service_keys_are_fixed()',
                                'service_no_delete()', 'ou_no_delete()', 'code_keys_are_fixed()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', name, current_schema());
    END LOOP;
END
$$;
