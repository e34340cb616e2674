-- nimbus-codes schema 8 for PostgreSQL, as schema/sqlite/0008: session ids are
-- unique per service, not across all services. The key leads with the id, so
-- that a lookup by id alone still uses it.
ALTER TABLE session
    DROP CONSTRAINT session_external_id_key,
    ADD CONSTRAINT session_external_id_service_id_key UNIQUE (external_id, service_id);

-- A session keeps its service as it keeps its ids: they are its key now.
CREATE OR REPLACE FUNCTION session_keys_are_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.external_id IS DISTINCT FROM OLD.external_id
       OR NEW.service_id IS DISTINCT FROM OLD.service_id THEN
        RAISE EXCEPTION 'a session keeps its id, external id and service'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

-- As in schema 6: the store's schema first, pg_temp last (CREATE OR REPLACE
-- dropped the setting).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION session_keys_are_fixed() SET search_path = %I, pg_temp',
                   current_schema());
END
$$;
