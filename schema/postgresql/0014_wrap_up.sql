-- nimbus-codes schema 14 for PostgreSQL: after-call work, as in
-- schema/sqlite/0014_wrap_up.sql, and who may write it on a server that
-- enforces the role table (schema 9).

CREATE TABLE service_wrap_up (
    service_id        BIGINT PRIMARY KEY REFERENCES service (id),
    deadline_seconds  BIGINT NOT NULL CHECK (deadline_seconds BETWEEN 60 AND 31622400),
    default_primary   BIGINT NOT NULL REFERENCES code (id),
    default_secondary BIGINT REFERENCES code (id),
    effective_from    BIGINT NOT NULL
);

CREATE TABLE conclusion_default (
    session_id  BIGINT PRIMARY KEY REFERENCES conclusion (session_id),
    deadline_at BIGINT NOT NULL
);

-- Written with its conclusion, before the conclusion's codes; then final.
CREATE FUNCTION conclusion_default_with_its_conclusion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM conclusion_code WHERE session_id = NEW.session_id)
       >= coalesce((SELECT code_count FROM conclusion WHERE session_id = NEW.session_id), 0) THEN
        RAISE EXCEPTION 'a conclusion is final' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
-- As schema 6 says: a temporary table must not stand in for a permanent one.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION conclusion_default_with_its_conclusion() '
                   'SET search_path = %I, pg_temp', current_schema());
END
$$;
CREATE TRIGGER conclusion_default_with_its_conclusion BEFORE INSERT ON conclusion_default
    FOR EACH ROW EXECUTE FUNCTION conclusion_default_with_its_conclusion();
CREATE TRIGGER conclusion_default_is_final BEFORE UPDATE OR DELETE ON conclusion_default
    FOR EACH ROW EXECUTE FUNCTION nimbus_refuse('a conclusion is final');
CREATE TRIGGER conclusion_default_no_truncate BEFORE TRUNCATE ON conclusion_default
    FOR EACH STATEMENT EXECUTE FUNCTION nimbus_refuse('a conclusion is final');

-- The policy is a setting of the service, read by all and written by those
-- who may configure it. A swept conclusion is read with its session, and
-- marked by whoever may sweep (tenant admins, who write the conclusion in the
-- agent's name) for a conclusion they wrote.
ALTER TABLE service_wrap_up ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_wrap_up_read ON service_wrap_up FOR SELECT USING (true);
CREATE POLICY service_wrap_up_configure ON service_wrap_up FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('configure-service'))::bigint[]));

ALTER TABLE conclusion_default ENABLE ROW LEVEL SECURITY;
CREATE POLICY conclusion_default_read ON conclusion_default FOR SELECT
    USING (EXISTS (SELECT 1 FROM session s WHERE s.id = conclusion_default.session_id));
CREATE POLICY conclusion_default_sweep ON conclusion_default FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR ((SELECT nimbus_may_anywhere('sweep-sessions'))
                    AND EXISTS (SELECT 1 FROM conclusion c
                                WHERE c.session_id = conclusion_default.session_id
                                  AND c.via = session_user)));
