-- nimbus-codes schema 17. On PostgreSQL, writers of a store that enforces a
-- roster take no lock, so their changes to the rollups become rows of their
-- own, folded in after each commit
-- (schema/postgresql/0017_rollups_without_waiting.sql); SQLite's writers run
-- one at a time and change the buckets' rows at once, as before.
--
-- Here, schema 16's rollup triggers are made shorter, for every process that
-- opens the store parses them and every conclusion compiles some: no views
-- (each trigger joins the session to its two spans itself), and the count per
-- code type in a trigger of its own whose WHEN skips all but a type's first
-- code. They count exactly what schema 16's counted.
DROP TRIGGER usage_session_added;
DROP TRIGGER usage_session_changed;
DROP TRIGGER usage_session_removed;
DROP TRIGGER usage_conclusion_added;
DROP TRIGGER usage_conclusion_default_added;
DROP TRIGGER usage_code_added;
DROP TRIGGER usage_tag_added;
DROP VIEW usage_session_keys;
DROP VIEW usage_concluded_by;

-- Each trigger below writes a session's two buckets: `column1` of
-- (VALUES (3600), (86400)) is the span, and the bucket is the call's start
-- floored to it (also before 1970). Who concluded (for codes and tags) is
-- known when they arrive: a sweep's mark is written before them (below).

-- A settled session's counts leave its buckets when it changes or goes (only
-- an open session can: schema 8) and join its new ones; one stored below the
-- mark (an id given by hand) joins them at once.
CREATE TRIGGER usage_session_added AFTER INSERT ON session
WHEN NEW.id <= (SELECT session_id FROM usage_settled)
BEGIN
    INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive,
                                by_default)
    SELECT column1, NEW.service_id,
           NEW.started_at - (NEW.started_at % column1 + column1) % column1, 1, 0, 0, 0
    FROM (VALUES (3600), (86400)) WHERE true
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
      AND (span, bucket) IN (SELECT column1, OLD.started_at - (OLD.started_at % column1 + column1)
                                                              % column1
                             FROM (VALUES (3600), (86400)));
    INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive,
                                by_default)
    SELECT column1, NEW.service_id,
           NEW.started_at - (NEW.started_at % column1 + column1) % column1, 1,
           (SELECT count(*) FROM conclusion WHERE session_id = NEW.id),
           (SELECT count(*) FROM conclusion WHERE session_id = NEW.id
                                              AND concluded_at > NEW.ended_at),
           (SELECT count(*) FROM conclusion_default WHERE session_id = NEW.id)
    FROM (VALUES (3600), (86400)) WHERE true
    ON CONFLICT (span, service_id, bucket) DO UPDATE
    SET total = total + 1, concluded = concluded + excluded.concluded,
        retroactive = retroactive + excluded.retroactive,
        by_default = by_default + excluded.by_default;
    DELETE FROM usage_sessions
    WHERE total = 0 AND service_id = OLD.service_id
      AND (span, bucket) IN (SELECT column1, OLD.started_at - (OLD.started_at % column1 + column1)
                                                              % column1
                             FROM (VALUES (3600), (86400)));
END;

CREATE TRIGGER usage_session_removed AFTER DELETE ON session
WHEN OLD.id <= (SELECT session_id FROM usage_settled)
BEGIN
    UPDATE usage_sessions SET total = total - 1
    WHERE service_id = OLD.service_id
      AND (span, bucket) IN (SELECT column1, OLD.started_at - (OLD.started_at % column1 + column1)
                                                              % column1
                             FROM (VALUES (3600), (86400)));
    DELETE FROM usage_sessions
    WHERE total = 0 AND service_id = OLD.service_id
      AND (span, bucket) IN (SELECT column1, OLD.started_at - (OLD.started_at % column1 + column1)
                                                              % column1
                             FROM (VALUES (3600), (86400)));
END;

-- A conclusion, its sweep's mark, codes and tags are only ever added.
CREATE TRIGGER usage_conclusion_added AFTER INSERT ON conclusion
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    UPDATE usage_sessions
    SET concluded = concluded + 1,
        retroactive = retroactive + (SELECT coalesce(NEW.concluded_at > ended_at, 0) FROM session
                                     WHERE id = NEW.session_id)
    WHERE (span, service_id, bucket) IN (
        SELECT column1, service_id, started_at - (started_at % column1 + column1) % column1
        FROM session, (VALUES (3600), (86400)) WHERE id = NEW.session_id);
END;

CREATE TRIGGER usage_conclusion_default_added AFTER INSERT ON conclusion_default
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    UPDATE usage_sessions SET by_default = by_default + 1
    WHERE (span, service_id, bucket) IN (
        SELECT column1, service_id, started_at - (started_at % column1 + column1) % column1
        FROM session, (VALUES (3600), (86400)) WHERE id = NEW.session_id);
END;

CREATE TRIGGER usage_code_added AFTER INSERT ON conclusion_code
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    INSERT INTO usage_codes (span, service_id, bucket, concluded_by, type, code_id, name, sessions)
    SELECT column1, service_id, started_at - (started_at % column1 + column1) % column1,
           iif(EXISTS (SELECT 1 FROM conclusion_default WHERE session_id = NEW.session_id),
               'default', 'agent'),
           NEW.type, NEW.code_id, NEW.name, 1
    FROM session, (VALUES (3600), (86400)) WHERE id = NEW.session_id
    ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name) DO UPDATE
    SET sessions = sessions + 1;
END;

-- The first code of its type in the conclusion counts the session for the type.
CREATE TRIGGER usage_type_added AFTER INSERT ON conclusion_code
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
 AND NOT EXISTS (SELECT 1 FROM conclusion_code WHERE session_id = NEW.session_id
                                                 AND type = NEW.type AND position <> NEW.position)
BEGIN
    INSERT INTO usage_types (span, service_id, bucket, concluded_by, type, sessions)
    SELECT column1, service_id, started_at - (started_at % column1 + column1) % column1,
           iif(EXISTS (SELECT 1 FROM conclusion_default WHERE session_id = NEW.session_id),
               'default', 'agent'),
           NEW.type, 1
    FROM session, (VALUES (3600), (86400)) WHERE id = NEW.session_id
    ON CONFLICT (span, service_id, bucket, concluded_by, type) DO UPDATE
    SET sessions = sessions + 1;
END;

CREATE TRIGGER usage_tag_added AFTER INSERT ON conclusion_tag
WHEN NEW.session_id <= (SELECT session_id FROM usage_settled)
BEGIN
    INSERT INTO usage_tags (span, service_id, bucket, concluded_by, tag_key, tag, sessions)
    SELECT column1, service_id, started_at - (started_at % column1 + column1) % column1,
           iif(EXISTS (SELECT 1 FROM conclusion_default WHERE session_id = NEW.session_id),
               'default', 'agent'),
           NEW.tag_key, NEW.tag, 1
    FROM session, (VALUES (3600), (86400)) WHERE id = NEW.session_id
    ON CONFLICT (span, service_id, bucket, concluded_by, tag_key) DO UPDATE
    SET sessions = sessions + 1, tag = min(tag, excluded.tag);
END;
