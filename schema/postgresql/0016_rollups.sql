-- nimbus-codes schema 16 for PostgreSQL, as schema/sqlite/0016: usage
-- rollups per service and hour or day of the call's start, up to the mark in
-- usage_settled. The functions below run as the store's owner: nobody else
-- writes a rollup (the grants give SELECT only), so what a report reads is
-- what the sessions add up to, whoever writes them.

CREATE TABLE usage_settled (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    session_id BIGINT NOT NULL
);
INSERT INTO usage_settled (id, session_id) VALUES (1, 0);

CREATE TABLE usage_sessions (
    span        BIGINT NOT NULL CHECK (span IN (3600, 86400)),
    service_id  BIGINT NOT NULL,
    bucket      BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    concluded   BIGINT NOT NULL,
    retroactive BIGINT NOT NULL,
    by_default  BIGINT NOT NULL,
    PRIMARY KEY (span, service_id, bucket)
);

CREATE TABLE usage_types (
    span         BIGINT NOT NULL,
    service_id   BIGINT NOT NULL,
    bucket       BIGINT NOT NULL,
    concluded_by TEXT COLLATE "C" NOT NULL CHECK (concluded_by IN ('agent', 'default')),
    type         TEXT COLLATE "C" NOT NULL,
    sessions     BIGINT NOT NULL,
    PRIMARY KEY (span, service_id, bucket, concluded_by, type)
);

CREATE TABLE usage_codes (
    span         BIGINT NOT NULL,
    service_id   BIGINT NOT NULL,
    bucket       BIGINT NOT NULL,
    concluded_by TEXT COLLATE "C" NOT NULL CHECK (concluded_by IN ('agent', 'default')),
    type         TEXT COLLATE "C" NOT NULL,
    code_id      BIGINT NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    sessions     BIGINT NOT NULL,
    PRIMARY KEY (span, service_id, bucket, concluded_by, type, code_id, name)
);

CREATE TABLE usage_tags (
    span         BIGINT NOT NULL,
    service_id   BIGINT NOT NULL,
    bucket       BIGINT NOT NULL,
    concluded_by TEXT COLLATE "C" NOT NULL CHECK (concluded_by IN ('agent', 'default')),
    tag_key      TEXT COLLATE "C" NOT NULL,
    tag          TEXT COLLATE "C" NOT NULL,
    sessions     BIGINT NOT NULL,
    PRIMARY KEY (span, service_id, bucket, concluded_by, tag_key)
);

-- The two buckets of a session.
CREATE VIEW usage_session_keys (session_id, span, service_id, bucket) AS
    SELECT id, 3600::bigint, service_id, started_at - (started_at % 3600 + 3600) % 3600
    FROM session
    UNION ALL
    SELECT id, 86400::bigint, service_id, started_at - (started_at % 86400 + 86400) % 86400
    FROM session;

CREATE VIEW usage_concluded_by (session_id, concluded_by) AS
    SELECT c.session_id, (CASE WHEN d.session_id IS NULL THEN 'agent' ELSE 'default' END)
                         COLLATE "C"
    FROM conclusion c LEFT JOIN conclusion_default d ON d.session_id = c.session_id;

-- Adds `sign` times a settled session's counts to its buckets (the counts it
-- has now; only an open session's time or end changes, and its codes and tags
-- come after).
CREATE FUNCTION nimbus_usage_session(sid bigint, sign bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive, by_default)
    SELECT k.span, k.service_id, k.bucket, sign,
           sign * (SELECT count(*) FROM conclusion c WHERE c.session_id = sid),
           sign * (SELECT count(*) FROM conclusion c JOIN session s ON s.id = c.session_id
                   WHERE c.session_id = sid AND c.concluded_at > s.ended_at),
           sign * (SELECT count(*) FROM conclusion_default d WHERE d.session_id = sid)
    FROM usage_session_keys k WHERE k.session_id = sid
    ON CONFLICT (span, service_id, bucket) DO UPDATE
    SET total = usage_sessions.total + excluded.total,
        concluded = usage_sessions.concluded + excluded.concluded,
        retroactive = usage_sessions.retroactive + excluded.retroactive,
        by_default = usage_sessions.by_default + excluded.by_default;
    DELETE FROM usage_sessions u USING usage_session_keys k
    WHERE k.session_id = sid AND u.span = k.span AND u.service_id = k.service_id
      AND u.bucket = k.bucket AND u.total = 0;
$$;

-- Only the triggers below call it: with any sign, it would change the counts.
REVOKE EXECUTE ON FUNCTION nimbus_usage_session(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION nimbus_usage_settled() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
AS $$ SELECT session_id FROM usage_settled WHERE id = 1 $$;

CREATE FUNCTION usage_session_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    settled BIGINT := nimbus_usage_settled();
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.id <= settled THEN
            PERFORM nimbus_usage_session(NEW.id, 1);
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.id > settled THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        -- The row is gone: its buckets from OLD.
        UPDATE usage_sessions SET total = total - 1
        WHERE service_id = OLD.service_id
          AND (span, bucket) IN ((3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                 (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
        DELETE FROM usage_sessions WHERE service_id = OLD.service_id AND total = 0
          AND (span, bucket) IN ((3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                 (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
        RETURN OLD;
    END IF;
    IF NEW.started_at IS DISTINCT FROM OLD.started_at OR NEW.ended_at IS DISTINCT FROM OLD.ended_at THEN
        UPDATE usage_sessions
        SET total = total - 1,
            concluded = concluded - (SELECT count(*) FROM conclusion WHERE session_id = OLD.id),
            retroactive = retroactive - (SELECT count(*) FROM conclusion
                                         WHERE session_id = OLD.id AND concluded_at > OLD.ended_at),
            by_default = by_default - (SELECT count(*) FROM conclusion_default
                                       WHERE session_id = OLD.id)
        WHERE service_id = OLD.service_id
          AND (span, bucket) IN ((3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                 (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
        PERFORM nimbus_usage_session(NEW.id, 1);
        DELETE FROM usage_sessions WHERE service_id = OLD.service_id AND total = 0
          AND (span, bucket) IN ((3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                 (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER usage_session_added AFTER INSERT ON session
    FOR EACH ROW EXECUTE FUNCTION usage_session_changed();
CREATE TRIGGER usage_session_changed AFTER UPDATE OF started_at, ended_at ON session
    FOR EACH ROW EXECUTE FUNCTION usage_session_changed();
CREATE TRIGGER usage_session_removed AFTER DELETE ON session
    FOR EACH ROW EXECUTE FUNCTION usage_session_changed();

-- A conclusion, its sweep's mark, codes and tags are only ever added.
CREATE FUNCTION usage_conclusion_added() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NEW.session_id > nimbus_usage_settled() THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'conclusion' THEN
        UPDATE usage_sessions u
        SET concluded = concluded + 1,
            retroactive = retroactive + coalesce((SELECT (NEW.concluded_at > s.ended_at)::int
                                                  FROM session s WHERE s.id = NEW.session_id), 0)
        FROM usage_session_keys k
        WHERE k.session_id = NEW.session_id AND u.span = k.span
          AND u.service_id = k.service_id AND u.bucket = k.bucket;
    ELSIF TG_TABLE_NAME = 'conclusion_default' THEN
        UPDATE usage_sessions u SET by_default = by_default + 1
        FROM usage_session_keys k
        WHERE k.session_id = NEW.session_id AND u.span = k.span
          AND u.service_id = k.service_id AND u.bucket = k.bucket;
    ELSIF TG_TABLE_NAME = 'conclusion_code' THEN
        INSERT INTO usage_codes (span, service_id, bucket, concluded_by, type, code_id, name,
                                 sessions)
        SELECT k.span, k.service_id, k.bucket, b.concluded_by, NEW.type, NEW.code_id, NEW.name, 1
        FROM usage_session_keys k JOIN usage_concluded_by b ON b.session_id = k.session_id
        WHERE k.session_id = NEW.session_id
        ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name) DO UPDATE
        SET sessions = usage_codes.sessions + 1;
        INSERT INTO usage_types (span, service_id, bucket, concluded_by, type, sessions)
        SELECT k.span, k.service_id, k.bucket, b.concluded_by, NEW.type, 1
        FROM usage_session_keys k JOIN usage_concluded_by b ON b.session_id = k.session_id
        WHERE k.session_id = NEW.session_id
          AND NOT EXISTS (SELECT 1 FROM conclusion_code
                          WHERE session_id = NEW.session_id AND type = NEW.type
                            AND position <> NEW.position)
        ON CONFLICT (span, service_id, bucket, concluded_by, type) DO UPDATE
        SET sessions = usage_types.sessions + 1;
    ELSE
        INSERT INTO usage_tags (span, service_id, bucket, concluded_by, tag_key, tag, sessions)
        SELECT k.span, k.service_id, k.bucket, b.concluded_by, NEW.tag_key, NEW.tag, 1
        FROM usage_session_keys k JOIN usage_concluded_by b ON b.session_id = k.session_id
        WHERE k.session_id = NEW.session_id
        ON CONFLICT (span, service_id, bucket, concluded_by, tag_key) DO UPDATE
        SET sessions = usage_tags.sessions + 1, tag = LEAST(usage_tags.tag, excluded.tag);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER usage_conclusion_added AFTER INSERT ON conclusion
    FOR EACH ROW EXECUTE FUNCTION usage_conclusion_added();
CREATE TRIGGER usage_conclusion_default_added AFTER INSERT ON conclusion_default
    FOR EACH ROW EXECUTE FUNCTION usage_conclusion_added();
CREATE TRIGGER usage_code_added AFTER INSERT ON conclusion_code
    FOR EACH ROW EXECUTE FUNCTION usage_conclusion_added();
CREATE TRIGGER usage_tag_added AFTER INSERT ON conclusion_tag
    FOR EACH ROW EXECUTE FUNCTION usage_conclusion_added();

-- The mark only moves forward, by settling, and is never removed.
CREATE FUNCTION usage_settled_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.session_id < OLD.session_id OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'the rollups are settled forward only'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER usage_settled_forward BEFORE UPDATE OR DELETE ON usage_settled
    FOR EACH ROW EXECUTE FUNCTION usage_settled_forward();

-- Settles the sessions beyond the mark, with their conclusions, codes and
-- tags, as store/sql/usage_sql.cpp does on SQLite, for writers who may not
-- write the rollups themselves. Under SERIALIZABLE, two writers that settle
-- at once conflict on the mark, and one runs again.
CREATE FUNCTION nimbus_usage_settle() RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    settled BIGINT;
    upto BIGINT;
    width BIGINT;
BEGIN
    SELECT session_id INTO settled FROM usage_settled WHERE id = 1 FOR UPDATE;
    SELECT max(id) INTO upto FROM session WHERE id > settled;
    IF upto IS NULL THEN
        RETURN;
    END IF;
    FOREACH width IN ARRAY ARRAY[3600, 86400]::bigint[] LOOP
        INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive,
                                    by_default)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width, count(*),
               count(c.session_id),
               coalesce(sum(CASE WHEN c.concluded_at > s.ended_at THEN 1 ELSE 0 END), 0),
               count(d.session_id)
        FROM session s LEFT JOIN conclusion c ON c.session_id = s.id
             LEFT JOIN conclusion_default d ON d.session_id = s.id
        WHERE s.id > settled AND s.id <= upto
        GROUP BY 2, 3
        ON CONFLICT (span, service_id, bucket) DO UPDATE
        SET total = usage_sessions.total + excluded.total,
            concluded = usage_sessions.concluded + excluded.concluded,
            retroactive = usage_sessions.retroactive + excluded.retroactive,
            by_default = usage_sessions.by_default + excluded.by_default;
        INSERT INTO usage_types (span, service_id, bucket, concluded_by, type, sessions)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width,
               b.concluded_by, t.type, count(*)
        FROM (SELECT DISTINCT session_id, type FROM conclusion_code
              WHERE session_id > settled AND session_id <= upto) t
             JOIN session s ON s.id = t.session_id
             JOIN usage_concluded_by b ON b.session_id = t.session_id
        GROUP BY 2, 3, 4, 5
        ON CONFLICT (span, service_id, bucket, concluded_by, type) DO UPDATE
        SET sessions = usage_types.sessions + excluded.sessions;
        INSERT INTO usage_codes (span, service_id, bucket, concluded_by, type, code_id, name,
                                 sessions)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width,
               b.concluded_by, cc.type, cc.code_id, cc.name, count(*)
        FROM conclusion_code cc JOIN session s ON s.id = cc.session_id
             JOIN usage_concluded_by b ON b.session_id = cc.session_id
        WHERE cc.session_id > settled AND cc.session_id <= upto
        GROUP BY 2, 3, 4, 5, 6, 7
        ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name) DO UPDATE
        SET sessions = usage_codes.sessions + excluded.sessions;
        INSERT INTO usage_tags (span, service_id, bucket, concluded_by, tag_key, tag, sessions)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width,
               b.concluded_by, ct.tag_key, min(ct.tag), count(*)
        FROM conclusion_tag ct JOIN session s ON s.id = ct.session_id
             JOIN usage_concluded_by b ON b.session_id = ct.session_id
        WHERE ct.session_id > settled AND ct.session_id <= upto
        GROUP BY 2, 3, 4, 5
        ON CONFLICT (span, service_id, bucket, concluded_by, tag_key) DO UPDATE
        SET sessions = usage_tags.sessions + excluded.sessions,
            tag = LEAST(usage_tags.tag, excluded.tag);
    END LOOP;
    UPDATE usage_settled SET session_id = upto WHERE id = 1;
END
$$;

-- The rollups count each session once: a sweep's mark comes before any code
-- or tag of its conclusion.
CREATE OR REPLACE FUNCTION conclusion_default_with_its_conclusion() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM conclusion_code WHERE session_id = NEW.session_id)
       OR EXISTS (SELECT 1 FROM conclusion_tag WHERE session_id = NEW.session_id)
       OR NOT EXISTS (SELECT 1 FROM conclusion WHERE session_id = NEW.session_id) THEN
        RAISE EXCEPTION 'a conclusion is final' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['nimbus_usage_session(bigint, bigint)', 'nimbus_usage_settled()',
                                'usage_session_changed()', 'usage_conclusion_added()',
                                'usage_settled_forward()', 'nimbus_usage_settle()',
                                'conclusion_default_with_its_conclusion()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', name, current_schema());
    END LOOP;
END
$$;

-- Read as the sessions they count are read: by those who may read the
-- sessions of the service. Nobody writes them but the functions above.
ALTER TABLE usage_settled ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_settled_read ON usage_settled FOR SELECT USING (true);
ALTER TABLE usage_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_sessions_read ON usage_sessions FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('read-sessions'))::bigint[]));
ALTER TABLE usage_types ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_types_read ON usage_types FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('read-sessions'))::bigint[]));
ALTER TABLE usage_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_codes_read ON usage_codes FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('read-sessions'))::bigint[]));
ALTER TABLE usage_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_tags_read ON usage_tags FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('read-sessions'))::bigint[]));
