-- nimbus-codes schema 12 for PostgreSQL: a call's waiting and talk time, as in
-- schema/sqlite/0012_call_times.sql, and who may read and write them on a
-- server that enforces the role table (schema 9).

CREATE TABLE session_times (
    session_id      BIGINT PRIMARY KEY REFERENCES session (id),
    waiting_seconds BIGINT CHECK (waiting_seconds BETWEEN 0 AND 31622400),
    talk_seconds    BIGINT CHECK (talk_seconds BETWEEN 0 AND 31622400),
    CHECK (waiting_seconds IS NOT NULL OR talk_seconds IS NOT NULL)
);

-- A concluded session's times are final: never changed or removed, and added
-- only with the end of a call concluded while it was active (written before
-- the end itself, while the session's end is unknown).
CREATE FUNCTION session_times_concluded_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP <> 'INSERT'
        AND EXISTS (SELECT 1 FROM conclusion WHERE session_id IN (OLD.session_id, NEW.session_id)))
       OR (TG_OP = 'INSERT'
           AND EXISTS (SELECT 1 FROM conclusion c JOIN session s ON s.id = c.session_id
                       WHERE c.session_id = NEW.session_id AND s.ended_at IS NOT NULL)) THEN
        RAISE EXCEPTION 'a concluded session is final'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER session_times_concluded_is_final BEFORE INSERT OR UPDATE OR DELETE
    ON session_times FOR EACH ROW EXECUTE FUNCTION session_times_concluded_is_final();
CREATE TRIGGER session_times_no_truncate BEFORE TRUNCATE ON session_times
    FOR EACH STATEMENT EXECUTE FUNCTION nimbus_refuse('a concluded session is final');

-- Read with the session (the subquery sees only the sessions the caller may
-- read), written with it by those who may import its service's sessions.
ALTER TABLE session_times ENABLE ROW LEVEL SECURITY;
CREATE POLICY session_times_read ON session_times FOR SELECT
    USING (EXISTS (SELECT 1 FROM session s WHERE s.id = session_times.session_id));
CREATE POLICY session_times_import ON session_times FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR EXISTS (SELECT 1 FROM session s WHERE s.id = session_times.session_id
                           AND s.service_id = ANY ((SELECT nimbus_services('import-sessions'))::bigint[])));
