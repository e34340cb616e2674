-- nimbus-codes schema 15 for PostgreSQL, as schema/sqlite/0015: retired OUs
-- and services, and the deletion of those never used. Foreign keys refuse to
-- delete what anything names; the triggers below refuse what was used, and
-- row level security lets only those who may retire, restore or delete do so.

CREATE TABLE ou_retired (
    ou_id      BIGINT PRIMARY KEY REFERENCES ou (id),
    retired_at BIGINT NOT NULL
);

CREATE TABLE service_retired (
    service_id BIGINT PRIMARY KEY REFERENCES service (id),
    retired_at BIGINT NOT NULL
);

-- No session of a call that began once its service was retired.
CREATE FUNCTION session_of_retired_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM service_retired
               WHERE service_id = NEW.service_id AND retired_at <= NEW.started_at) THEN
        RAISE EXCEPTION 'a retired service takes no new sessions'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER session_of_retired_service BEFORE INSERT ON session
    FOR EACH ROW EXECUTE FUNCTION session_of_retired_service();

-- True when the audit trail has a record of `target` since its latest
-- `creation` record but that creation. Every record counts, whoever may read
-- it: the function runs as the store's owner.
CREATE FUNCTION nimbus_changed_since_creation(target text, creation text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT EXISTS (SELECT 1 FROM audit a
                   WHERE a.target = $1 AND a.action <> $2
                     AND a.id > (SELECT max(id) FROM audit WHERE target = $1 AND action = $2))
$$;

-- Refuses to delete a row of an OU or a service that was used. Its arguments:
-- the kind its audit records name ('ou', 'service'), the column that names
-- the row, and the row in words for the message.
CREATE FUNCTION nimbus_used_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nimbus_changed_since_creation(TG_ARGV[0] || ' ' || (to_jsonb(OLD) ->> TG_ARGV[1]),
                                     TG_ARGV[0] || '.create') THEN
        RAISE EXCEPTION '% that was used is never deleted', TG_ARGV[2]
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER ou_used_no_delete BEFORE DELETE ON ou
    FOR EACH ROW EXECUTE FUNCTION nimbus_used_no_delete('ou', 'path', 'an OU');
CREATE TRIGGER service_used_no_delete BEFORE DELETE ON service
    FOR EACH ROW EXECUTE FUNCTION nimbus_used_no_delete('service', 'name', 'a service');

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION session_of_retired_service() SET search_path = %I, pg_temp',
                   current_schema());
    EXECUTE format('ALTER FUNCTION nimbus_changed_since_creation(text, text) '
                   'SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION nimbus_used_no_delete() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;

-- An OU is retired, restored or deleted by those who may create it (the
-- rule's scope is its parent); a service by those who may change it.
ALTER TABLE ou_retired ENABLE ROW LEVEL SECURITY;
CREATE POLICY ou_retired_read ON ou_retired FOR SELECT USING (true);
CREATE POLICY ou_retired_manage ON ou_retired FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR EXISTS (SELECT 1 FROM ou o
                      WHERE o.id = ou_retired.ou_id
                        AND o.parent_id = ANY ((SELECT nimbus_ous('create-ou'))::bigint[])));
CREATE POLICY ou_remove ON ou FOR DELETE
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR parent_id = ANY ((SELECT nimbus_ous('create-ou'))::bigint[]));

ALTER TABLE service_retired ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_retired_read ON service_retired FOR SELECT USING (true);
CREATE POLICY service_retired_manage ON service_retired FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('change-service'))::bigint[]));
CREATE POLICY service_remove ON service FOR DELETE
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR id = ANY ((SELECT nimbus_services('change-service'))::bigint[]));
