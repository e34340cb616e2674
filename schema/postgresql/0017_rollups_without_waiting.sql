-- nimbus-codes schema 17 for PostgreSQL: on a store that enforces a roster,
-- the rollups hold up no writer (docs/postgresql.md, "Nobody holds up the
-- writers"). Such writers take no lock, so a change to a bucket's row would
-- wait for any open transaction that changed it first. Instead each change
-- becomes a row of its own (`pending`, a number nobody else takes), which no
-- other writer touches; reports add those rows as they add the buckets'
-- (they sum every row in range); and nimbus_usage_settle() folds them into
-- the buckets' rows (pending = 0) after the writer's commit, unless someone
-- else is folding, as the ledger's pending entries are chained. Without a
-- roster, writers take one lock in turn and change the buckets' rows at once.

CREATE SEQUENCE usage_pending;

ALTER TABLE usage_sessions ADD COLUMN pending BIGINT NOT NULL DEFAULT 0,
    DROP CONSTRAINT usage_sessions_pkey, ADD PRIMARY KEY (span, service_id, bucket, pending);
ALTER TABLE usage_types ADD COLUMN pending BIGINT NOT NULL DEFAULT 0,
    DROP CONSTRAINT usage_types_pkey,
    ADD PRIMARY KEY (span, service_id, bucket, concluded_by, type, pending);
ALTER TABLE usage_codes ADD COLUMN pending BIGINT NOT NULL DEFAULT 0,
    DROP CONSTRAINT usage_codes_pkey,
    ADD PRIMARY KEY (span, service_id, bucket, concluded_by, type, code_id, name, pending);
ALTER TABLE usage_tags ADD COLUMN pending BIGINT NOT NULL DEFAULT 0,
    DROP CONSTRAINT usage_tags_pkey,
    ADD PRIMARY KEY (span, service_id, bucket, concluded_by, tag_key, pending);
CREATE INDEX usage_sessions_pending ON usage_sessions (pending) WHERE pending <> 0;
CREATE INDEX usage_types_pending ON usage_types (pending) WHERE pending <> 0;
CREATE INDEX usage_codes_pending ON usage_codes (pending) WHERE pending <> 0;
CREATE INDEX usage_tags_pending ON usage_tags (pending) WHERE pending <> 0;

-- The row a change goes to: its bucket's (0), or on a store with a roster a
-- new one of its own. Called once per row written.
CREATE FUNCTION nimbus_usage_row() RETURNS bigint LANGUAGE sql VOLATILE SECURITY DEFINER
AS $$ SELECT CASE WHEN nimbus_enforced() THEN nextval('usage_pending') ELSE 0 END $$;

-- Adds counts to the hour and the day of a call that started at `started`;
-- a bucket's row that no session is left in goes.
CREATE FUNCTION nimbus_usage_add(service bigint, started bigint, add_total bigint,
                                 add_concluded bigint, add_retroactive bigint,
                                 add_by_default bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER AS $$
    INSERT INTO usage_sessions AS u (span, service_id, bucket, pending, total, concluded,
                                     retroactive, by_default)
    SELECT b.span, service, started - (started % b.span + b.span) % b.span, nimbus_usage_row(),
           add_total, add_concluded, add_retroactive, add_by_default
    FROM (VALUES (3600::bigint), (86400::bigint)) b (span)
    ON CONFLICT (span, service_id, bucket, pending) DO UPDATE
    SET total = u.total + excluded.total, concluded = u.concluded + excluded.concluded,
        retroactive = u.retroactive + excluded.retroactive,
        by_default = u.by_default + excluded.by_default;
    DELETE FROM usage_sessions u
    WHERE u.service_id = service AND u.pending = 0 AND u.total = 0
      AND (u.span, u.bucket) IN ((3600, started - (started % 3600 + 3600) % 3600),
                                 (86400, started - (started % 86400 + 86400) % 86400));
$$;

CREATE OR REPLACE FUNCTION nimbus_usage_session(sid bigint, sign bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER AS $$
    SELECT nimbus_usage_add(s.service_id, s.started_at, sign,
        sign * (SELECT count(*) FROM conclusion c WHERE c.session_id = sid),
        sign * (SELECT count(*) FROM conclusion c
                WHERE c.session_id = sid AND c.concluded_at > s.ended_at),
        sign * (SELECT count(*) FROM conclusion_default d WHERE d.session_id = sid))
    FROM session s WHERE s.id = sid;
$$;

-- Only the functions here call them: with any counts, they would change the reports.
REVOKE EXECUTE ON FUNCTION nimbus_usage_row() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION nimbus_usage_add(bigint, bigint, bigint, bigint, bigint, bigint)
    FROM PUBLIC;

-- A settled session's counts leave its buckets when it changes or goes (only
-- an open session can: schema 8) and join its new ones.
CREATE OR REPLACE FUNCTION usage_session_changed() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER AS $$
BEGIN
    IF OLD.id > nimbus_usage_settled() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM nimbus_usage_add(OLD.service_id, OLD.started_at, -1, 0, 0, 0);
        RETURN OLD;
    END IF;
    IF NEW.started_at IS DISTINCT FROM OLD.started_at OR NEW.ended_at IS DISTINCT FROM OLD.ended_at THEN
        PERFORM nimbus_usage_add(OLD.service_id, OLD.started_at, -1,
            -(SELECT count(*) FROM conclusion WHERE session_id = OLD.id),
            -(SELECT count(*) FROM conclusion
              WHERE session_id = OLD.id AND concluded_at > OLD.ended_at),
            -(SELECT count(*) FROM conclusion_default WHERE session_id = OLD.id));
        PERFORM nimbus_usage_session(NEW.id, 1);
    END IF;
    RETURN NEW;
END
$$;

-- Rows added by one statement, counted once for the statement (a COPY of a
-- whole store calls this once per table, not once per row): sessions stored
-- below the mark (ids given by hand), and a conclusion, its sweep's mark,
-- codes and tags, which are only ever added. A session counts for a code
-- type with its first code of the type: one of the statement's rows when
-- no code of the type was stored before it.
CREATE FUNCTION usage_rows_added() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    settled BIGINT := nimbus_usage_settled();
BEGIN
    IF TG_TABLE_NAME = 'session' THEN
        PERFORM nimbus_usage_session(a.id, 1) FROM added a WHERE a.id <= settled;
    ELSIF TG_TABLE_NAME = 'conclusion' THEN
        PERFORM nimbus_usage_add(s.service_id, s.started_at, 0, 1,
                                 coalesce((a.concluded_at > s.ended_at)::int, 0), 0)
        FROM added a JOIN session s ON s.id = a.session_id WHERE a.session_id <= settled;
    ELSIF TG_TABLE_NAME = 'conclusion_default' THEN
        PERFORM nimbus_usage_add(s.service_id, s.started_at, 0, 0, 0, 1)
        FROM added a JOIN session s ON s.id = a.session_id WHERE a.session_id <= settled;
    ELSIF TG_TABLE_NAME = 'conclusion_code' THEN
        INSERT INTO usage_codes AS u (span, service_id, bucket, concluded_by, type, code_id, name,
                                      pending, sessions)
        SELECT k.span, k.service_id, k.bucket, b.concluded_by, a.type, a.code_id, a.name,
               nimbus_usage_row(), count(*)
        FROM added a JOIN usage_session_keys k ON k.session_id = a.session_id
             JOIN usage_concluded_by b ON b.session_id = a.session_id
        WHERE a.session_id <= settled
        GROUP BY k.span, k.service_id, k.bucket, b.concluded_by, a.type, a.code_id, a.name
        ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name, pending)
        DO UPDATE SET sessions = u.sessions + excluded.sessions;
        INSERT INTO usage_types AS u (span, service_id, bucket, concluded_by, type, pending,
                                      sessions)
        SELECT k.span, k.service_id, k.bucket, b.concluded_by, t.type, nimbus_usage_row(), count(*)
        FROM (SELECT DISTINCT a.session_id, a.type FROM added a
              WHERE a.session_id <= settled
                AND NOT EXISTS (SELECT 1 FROM conclusion_code c
                                WHERE c.session_id = a.session_id AND c.type = a.type
                                  AND NOT EXISTS (SELECT 1 FROM added n
                                                  WHERE n.session_id = c.session_id
                                                    AND n.position = c.position))) t
             JOIN usage_session_keys k ON k.session_id = t.session_id
             JOIN usage_concluded_by b ON b.session_id = t.session_id
        GROUP BY k.span, k.service_id, k.bucket, b.concluded_by, t.type
        ON CONFLICT (span, service_id, bucket, concluded_by, type, pending)
        DO UPDATE SET sessions = u.sessions + excluded.sessions;
    ELSE
        INSERT INTO usage_tags AS u (span, service_id, bucket, concluded_by, tag_key, tag, pending,
                                     sessions)
        SELECT k.span, k.service_id, k.bucket, b.concluded_by, a.tag_key, min(a.tag),
               nimbus_usage_row(), count(*)
        FROM added a JOIN usage_session_keys k ON k.session_id = a.session_id
             JOIN usage_concluded_by b ON b.session_id = a.session_id
        WHERE a.session_id <= settled
        GROUP BY k.span, k.service_id, k.bucket, b.concluded_by, a.tag_key
        ON CONFLICT (span, service_id, bucket, concluded_by, tag_key, pending)
        DO UPDATE SET sessions = u.sessions + excluded.sessions, tag = LEAST(u.tag, excluded.tag);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER usage_session_added ON session;
DROP TRIGGER usage_conclusion_added ON conclusion;
DROP TRIGGER usage_conclusion_default_added ON conclusion_default;
DROP TRIGGER usage_code_added ON conclusion_code;
DROP TRIGGER usage_tag_added ON conclusion_tag;
DROP FUNCTION usage_conclusion_added();
CREATE TRIGGER usage_session_added AFTER INSERT ON session REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rows_added();
CREATE TRIGGER usage_conclusion_added AFTER INSERT ON conclusion REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rows_added();
CREATE TRIGGER usage_conclusion_default_added AFTER INSERT ON conclusion_default
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION usage_rows_added();
CREATE TRIGGER usage_code_added AFTER INSERT ON conclusion_code REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rows_added();
CREATE TRIGGER usage_tag_added AFTER INSERT ON conclusion_tag REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rows_added();

-- Folds the changes left as rows of their own into their buckets' rows, then
-- settles the sessions beyond the mark. One runs at a time; whoever finds
-- another at it leaves the work to the next (reports are right either way).
-- Moving the mark past sessions that a concurrent writer is still inserting
-- would leave them uncounted: without the writers' lock, which a store with
-- a roster does not take, that is safe only in a SERIALIZABLE transaction
-- (the server then fails one of the two), so elsewhere the mark stays.
CREATE OR REPLACE FUNCTION nimbus_usage_settle() RETURNS void LANGUAGE plpgsql
SECURITY DEFINER AS $$
DECLARE
    settled BIGINT;
    upto BIGINT;
    width BIGINT;
    spans BIGINT[];
    services BIGINT[];
    buckets BIGINT[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(1313031251, 3) THEN
        RETURN;
    END IF;
    WITH moved AS (DELETE FROM usage_sessions WHERE pending <> 0 RETURNING *),
         folded AS (
             INSERT INTO usage_sessions AS u (span, service_id, bucket, total, concluded,
                                              retroactive, by_default)
             SELECT span, service_id, bucket, sum(total), sum(concluded), sum(retroactive),
                    sum(by_default)
             FROM moved GROUP BY 1, 2, 3
             ON CONFLICT (span, service_id, bucket, pending) DO UPDATE
             SET total = u.total + excluded.total, concluded = u.concluded + excluded.concluded,
                 retroactive = u.retroactive + excluded.retroactive,
                 by_default = u.by_default + excluded.by_default
             RETURNING u.span, u.service_id, u.bucket, u.total)
    SELECT array_agg(span), array_agg(service_id), array_agg(bucket)
    INTO spans, services, buckets FROM folded WHERE total = 0;
    DELETE FROM usage_sessions u USING unnest(spans, services, buckets) AS z (span, service_id, bucket)
    WHERE u.pending = 0 AND u.total = 0 AND u.span = z.span AND u.service_id = z.service_id
      AND u.bucket = z.bucket;
    WITH moved AS (DELETE FROM usage_types WHERE pending <> 0 RETURNING *)
    INSERT INTO usage_types AS u (span, service_id, bucket, concluded_by, type, sessions)
    SELECT span, service_id, bucket, concluded_by, type, sum(sessions) FROM moved
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (span, service_id, bucket, concluded_by, type, pending) DO UPDATE
    SET sessions = u.sessions + excluded.sessions;
    WITH moved AS (DELETE FROM usage_codes WHERE pending <> 0 RETURNING *)
    INSERT INTO usage_codes AS u (span, service_id, bucket, concluded_by, type, code_id, name,
                                  sessions)
    SELECT span, service_id, bucket, concluded_by, type, code_id, name, sum(sessions) FROM moved
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name, pending) DO UPDATE
    SET sessions = u.sessions + excluded.sessions;
    WITH moved AS (DELETE FROM usage_tags WHERE pending <> 0 RETURNING *)
    INSERT INTO usage_tags AS u (span, service_id, bucket, concluded_by, tag_key, tag, sessions)
    SELECT span, service_id, bucket, concluded_by, tag_key, min(tag), sum(sessions) FROM moved
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (span, service_id, bucket, concluded_by, tag_key, pending) DO UPDATE
    SET sessions = u.sessions + excluded.sessions, tag = LEAST(u.tag, excluded.tag);

    IF nimbus_enforced() AND current_setting('transaction_isolation') <> 'serializable' THEN
        RETURN;
    END IF;
    SELECT session_id INTO settled FROM usage_settled WHERE id = 1;
    SELECT max(id) INTO upto FROM session WHERE id > settled;
    IF upto IS NULL THEN
        RETURN;
    END IF;
    FOREACH width IN ARRAY ARRAY[3600, 86400]::bigint[] LOOP
        INSERT INTO usage_sessions AS u (span, service_id, bucket, total, concluded, retroactive,
                                         by_default)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width, count(*),
               count(c.session_id),
               coalesce(sum(CASE WHEN c.concluded_at > s.ended_at THEN 1 ELSE 0 END), 0),
               count(d.session_id)
        FROM session s LEFT JOIN conclusion c ON c.session_id = s.id
             LEFT JOIN conclusion_default d ON d.session_id = s.id
        WHERE s.id > settled AND s.id <= upto
        GROUP BY 2, 3
        ON CONFLICT (span, service_id, bucket, pending) DO UPDATE
        SET total = u.total + excluded.total, concluded = u.concluded + excluded.concluded,
            retroactive = u.retroactive + excluded.retroactive,
            by_default = u.by_default + excluded.by_default;
        INSERT INTO usage_types AS u (span, service_id, bucket, concluded_by, type, sessions)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width,
               b.concluded_by, t.type, count(*)
        FROM (SELECT DISTINCT session_id, type FROM conclusion_code
              WHERE session_id > settled AND session_id <= upto) t
             JOIN session s ON s.id = t.session_id
             JOIN usage_concluded_by b ON b.session_id = t.session_id
        GROUP BY 2, 3, 4, 5
        ON CONFLICT (span, service_id, bucket, concluded_by, type, pending) DO UPDATE
        SET sessions = u.sessions + excluded.sessions;
        INSERT INTO usage_codes AS u (span, service_id, bucket, concluded_by, type, code_id, name,
                                      sessions)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width,
               b.concluded_by, cc.type, cc.code_id, cc.name, count(*)
        FROM conclusion_code cc JOIN session s ON s.id = cc.session_id
             JOIN usage_concluded_by b ON b.session_id = cc.session_id
        WHERE cc.session_id > settled AND cc.session_id <= upto
        GROUP BY 2, 3, 4, 5, 6, 7
        ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name, pending)
        DO UPDATE SET sessions = u.sessions + excluded.sessions;
        INSERT INTO usage_tags AS u (span, service_id, bucket, concluded_by, tag_key, tag, sessions)
        SELECT width, s.service_id, s.started_at - (s.started_at % width + width) % width,
               b.concluded_by, ct.tag_key, min(ct.tag), count(*)
        FROM conclusion_tag ct JOIN session s ON s.id = ct.session_id
             JOIN usage_concluded_by b ON b.session_id = ct.session_id
        WHERE ct.session_id > settled AND ct.session_id <= upto
        GROUP BY 2, 3, 4, 5
        ON CONFLICT (span, service_id, bucket, concluded_by, tag_key, pending) DO UPDATE
        SET sessions = u.sessions + excluded.sessions, tag = LEAST(u.tag, excluded.tag);
    END LOOP;
    UPDATE usage_settled SET session_id = upto WHERE id = 1;
END
$$;

DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['nimbus_usage_row()',
                                'nimbus_usage_add(bigint, bigint, bigint, bigint, bigint, bigint)',
                                'nimbus_usage_session(bigint, bigint)', 'usage_session_changed()',
                                'usage_rows_added()', 'nimbus_usage_settle()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', name, current_schema());
    END LOOP;
END
$$;
