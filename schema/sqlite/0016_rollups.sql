-- nimbus-codes schema 16: usage rollups (docs/reports.md, "Rollups"). Reports
-- read counts kept with the writes instead of recounting every session of
-- their period: per service and per hour (3600 s) and day (86400 s) of the
-- call's start in UTC. A report reads whole days where it can and whole hours
-- at its edges; what is left (part of an hour, in a zone whose offset is not
-- whole hours; a report of one agent) is read from the sessions themselves,
-- which stay the truth: 'report usage --recount' reads only them.
--
-- The rollups hold the sessions up to usage_settled.session_id, with their
-- conclusions, codes and tags. A write that adds sessions settles them in its
-- own transaction, all at once (store/sql: settle_usage); until then a report
-- reads them from the sessions. The triggers below keep the rollups of the
-- settled sessions in the statement that changes one, whoever sends it.

CREATE TABLE usage_settled (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    session_id INTEGER NOT NULL
) STRICT;
INSERT INTO usage_settled (id, session_id) VALUES (1, 0);

-- Sessions per bucket: all of them, those concluded, those concluded after
-- the call's end (retroactive) and those concluded by a sweep.
CREATE TABLE usage_sessions (
    span        INTEGER NOT NULL CHECK (span IN (3600, 86400)),
    service_id  INTEGER NOT NULL,
    bucket      INTEGER NOT NULL, -- the bucket's start, UTC seconds
    total       INTEGER NOT NULL,
    concluded   INTEGER NOT NULL,
    retroactive INTEGER NOT NULL,
    by_default  INTEGER NOT NULL,
    PRIMARY KEY (span, service_id, bucket)
) STRICT, WITHOUT ROWID;

-- Concluded sessions with at least one code of a type.
CREATE TABLE usage_types (
    span         INTEGER NOT NULL,
    service_id   INTEGER NOT NULL,
    bucket       INTEGER NOT NULL,
    concluded_by TEXT NOT NULL CHECK (concluded_by IN ('agent', 'default')),
    type         TEXT NOT NULL,
    sessions     INTEGER NOT NULL,
    PRIMARY KEY (span, service_id, bucket, concluded_by, type)
) STRICT, WITHOUT ROWID;

-- Concluded sessions with a code, under its name at the time.
CREATE TABLE usage_codes (
    span         INTEGER NOT NULL,
    service_id   INTEGER NOT NULL,
    bucket       INTEGER NOT NULL,
    concluded_by TEXT NOT NULL CHECK (concluded_by IN ('agent', 'default')),
    type         TEXT NOT NULL,
    code_id      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    sessions     INTEGER NOT NULL,
    PRIMARY KEY (span, service_id, bucket, concluded_by, type, code_id, name)
) STRICT, WITHOUT ROWID;

-- Concluded sessions with a tag (its case-folded key), and the spelling a
-- report shows: the least, as a report of the sessions would choose.
CREATE TABLE usage_tags (
    span         INTEGER NOT NULL,
    service_id   INTEGER NOT NULL,
    bucket       INTEGER NOT NULL,
    concluded_by TEXT NOT NULL CHECK (concluded_by IN ('agent', 'default')),
    tag_key      TEXT NOT NULL,
    tag          TEXT NOT NULL,
    sessions     INTEGER NOT NULL,
    PRIMARY KEY (span, service_id, bucket, concluded_by, tag_key)
) STRICT, WITHOUT ROWID;

-- The two buckets of each session.
CREATE VIEW usage_session_keys (session_id, span, service_id, bucket) AS
    SELECT id, 3600, service_id, started_at - (started_at % 3600 + 3600) % 3600 FROM session
    UNION ALL
    SELECT id, 86400, service_id, started_at - (started_at % 86400 + 86400) % 86400 FROM session;

-- Who concluded a session, for its codes and tags: a sweep's mark is written
-- before them (tightened below), so it is known when they arrive.
CREATE VIEW usage_concluded_by (session_id, concluded_by) AS
    SELECT c.session_id, CASE WHEN d.session_id IS NULL THEN 'agent' ELSE 'default' END
    FROM conclusion c LEFT JOIN conclusion_default d ON d.session_id = c.session_id;

-- A settled session's counts leave its buckets when it changes or goes (only
-- an open session can: schema 8) and join its new ones; one stored below the
-- mark (an id given by hand) joins them at once.
CREATE TRIGGER usage_session_added AFTER INSERT ON session
WHEN NEW.id <= (SELECT session_id FROM usage_settled)
BEGIN
    INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive,
                                by_default)
    SELECT span, service_id, bucket, 1, 0, 0, 0 FROM usage_session_keys
    WHERE session_id = NEW.id
    ON CONFLICT (span, service_id, bucket) DO UPDATE SET total = total + 1;
END;

CREATE TRIGGER usage_session_changed AFTER UPDATE OF started_at, ended_at ON session
WHEN OLD.id <= (SELECT session_id FROM usage_settled)
 AND (NEW.started_at IS NOT OLD.started_at OR NEW.ended_at IS NOT OLD.ended_at)
BEGIN
    UPDATE usage_sessions
    SET total = total - 1,
        concluded = concluded - (SELECT count(*) FROM conclusion WHERE session_id = OLD.id),
        retroactive = retroactive - (SELECT count(*) FROM conclusion
                                     WHERE session_id = OLD.id AND concluded_at > OLD.ended_at),
        by_default = by_default - (SELECT count(*) FROM conclusion_default
                                   WHERE session_id = OLD.id)
    WHERE service_id = OLD.service_id
      AND (span, bucket) IN (VALUES (3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                    (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
    INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive,
                                by_default)
    SELECT k.span, k.service_id, k.bucket, 1,
           (SELECT count(*) FROM conclusion WHERE session_id = NEW.id),
           (SELECT count(*) FROM conclusion WHERE session_id = NEW.id
                                              AND concluded_at > NEW.ended_at),
           (SELECT count(*) FROM conclusion_default WHERE session_id = NEW.id)
    FROM usage_session_keys k WHERE k.session_id = NEW.id
    ON CONFLICT (span, service_id, bucket) DO UPDATE
    SET total = total + 1, concluded = concluded + excluded.concluded,
        retroactive = retroactive + excluded.retroactive,
        by_default = by_default + excluded.by_default;
    DELETE FROM usage_sessions
    WHERE total = 0 AND service_id = OLD.service_id
      AND (span, bucket) IN (VALUES (3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                    (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
END;

CREATE TRIGGER usage_session_removed AFTER DELETE ON session
WHEN OLD.id <= (SELECT session_id FROM usage_settled)
BEGIN
    UPDATE usage_sessions SET total = total - 1
    WHERE service_id = OLD.service_id
      AND (span, bucket) IN (VALUES (3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                    (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
    DELETE FROM usage_sessions
    WHERE total = 0 AND service_id = OLD.service_id
      AND (span, bucket) IN (VALUES (3600, OLD.started_at - (OLD.started_at % 3600 + 3600) % 3600),
                                    (86400, OLD.started_at - (OLD.started_at % 86400 + 86400) % 86400));
END;

-- A conclusion, its sweep's mark, codes and tags are only ever added.
CREATE TRIGGER usage_conclusion_added AFTER INSERT ON conclusion
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    UPDATE usage_sessions
    SET concluded = concluded + 1,
        retroactive = retroactive + coalesce((SELECT NEW.concluded_at > ended_at FROM session
                                              WHERE id = NEW.session_id), 0)
    WHERE (span, service_id, bucket) IN (SELECT span, service_id, bucket FROM usage_session_keys
                                         WHERE session_id = NEW.session_id);
END;

CREATE TRIGGER usage_conclusion_default_added AFTER INSERT ON conclusion_default
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    UPDATE usage_sessions SET by_default = by_default + 1
    WHERE (span, service_id, bucket) IN (SELECT span, service_id, bucket FROM usage_session_keys
                                         WHERE session_id = NEW.session_id);
END;

CREATE TRIGGER usage_code_added AFTER INSERT ON conclusion_code
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    INSERT INTO usage_codes (span, service_id, bucket, concluded_by, type, code_id, name, sessions)
    SELECT k.span, k.service_id, k.bucket, b.concluded_by, NEW.type, NEW.code_id, NEW.name, 1
    FROM usage_session_keys k JOIN usage_concluded_by b ON b.session_id = k.session_id
    WHERE k.session_id = NEW.session_id
    ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name) DO UPDATE
    SET sessions = sessions + 1;
    INSERT INTO usage_types (span, service_id, bucket, concluded_by, type, sessions)
    SELECT k.span, k.service_id, k.bucket, b.concluded_by, NEW.type, 1
    FROM usage_session_keys k JOIN usage_concluded_by b ON b.session_id = k.session_id
    WHERE k.session_id = NEW.session_id
      AND NOT EXISTS (SELECT 1 FROM conclusion_code
                      WHERE session_id = NEW.session_id AND type = NEW.type
                        AND position <> NEW.position)
    ON CONFLICT (span, service_id, bucket, concluded_by, type) DO UPDATE
    SET sessions = sessions + 1;
END;

CREATE TRIGGER usage_tag_added AFTER INSERT ON conclusion_tag
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    INSERT INTO usage_tags (span, service_id, bucket, concluded_by, tag_key, tag, sessions)
    SELECT k.span, k.service_id, k.bucket, b.concluded_by, NEW.tag_key, NEW.tag, 1
    FROM usage_session_keys k JOIN usage_concluded_by b ON b.session_id = k.session_id
    WHERE k.session_id = NEW.session_id
    ON CONFLICT (span, service_id, bucket, concluded_by, tag_key) DO UPDATE
    SET sessions = sessions + 1, tag = min(tag, excluded.tag);
END;

-- The mark only moves forward, by settling (which counts the sessions it
-- passes), and is never removed.
CREATE TRIGGER usage_settled_forward BEFORE UPDATE ON usage_settled
WHEN NEW.session_id < OLD.session_id OR NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'the rollups are settled forward only');
END;
CREATE TRIGGER usage_settled_kept BEFORE DELETE ON usage_settled
BEGIN
    SELECT RAISE(ABORT, 'the rollups are settled forward only');
END;

-- The rollups count each session once: a session is stored once and changed
-- with UPDATE (INSERT OR REPLACE would remove the old row unseen by the
-- triggers above), and a sweep's mark comes before any code or tag.
DROP TRIGGER session_concluded_no_replace;
CREATE TRIGGER session_concluded_no_replace BEFORE INSERT ON session
WHEN EXISTS (SELECT 1 FROM session WHERE external_id = NEW.external_id
                                     AND service_id = NEW.service_id)
  OR EXISTS (SELECT 1 FROM session WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final')
    WHERE EXISTS (SELECT 1 FROM session s JOIN conclusion c ON c.session_id = s.id
                  WHERE (s.external_id = NEW.external_id AND s.service_id = NEW.service_id)
                     OR s.id = NEW.id);
    SELECT RAISE(ABORT, 'a session is stored once: change it with UPDATE');
END;

DROP TRIGGER conclusion_default_with_its_conclusion;
CREATE TRIGGER conclusion_default_with_its_conclusion BEFORE INSERT ON conclusion_default
WHEN EXISTS (SELECT 1 FROM conclusion_code WHERE session_id = NEW.session_id)
  OR EXISTS (SELECT 1 FROM conclusion_tag WHERE session_id = NEW.session_id)
  OR NOT EXISTS (SELECT 1 FROM conclusion WHERE session_id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
