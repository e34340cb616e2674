-- nimbus-codes schema 3: call sessions and their conclusions.
-- Session and conclusion times are UTC seconds since 1970 (INTEGER): there can
-- be millions of sessions, and reports compare their times in ranges.

-- The product's outcomes and their reporting groups. Static: the call system's vocabulary.
CREATE TABLE outcome (
    name          TEXT PRIMARY KEY,
    outcome_group TEXT NOT NULL,
    direction     TEXT CHECK (direction IN ('inbound', 'outbound')), -- NULL: either
    position      INTEGER NOT NULL UNIQUE
) STRICT, WITHOUT ROWID;

INSERT INTO outcome (name, outcome_group, direction, position) VALUES
    ('accepted',              'handled by user',       'inbound',  1),
    ('declined',              'not handled',           'inbound',  2),
    ('rona',                  'not handled',           'inbound',  3),
    ('abandoned',             'hang-up by customer',   'inbound',  4),
    ('transferred',           'handled by system',     'inbound',  5),
    ('outbound-accepted',     'outbound accepted',     'outbound', 6),
    ('outbound-not-accepted', 'outbound not accepted', 'outbound', 7),
    ('error',                 'error',                 NULL,       8);

CREATE TRIGGER outcome_is_static_update BEFORE UPDATE ON outcome
BEGIN
    SELECT RAISE(ABORT, 'the outcome table is static');
END;
CREATE TRIGGER outcome_is_static_delete BEFORE DELETE ON outcome
BEGIN
    SELECT RAISE(ABORT, 'the outcome table is static');
END;

CREATE TABLE session (
    id          INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE CHECK (length(external_id) BETWEEN 1 AND 128),
    service_id  INTEGER NOT NULL REFERENCES service (id),
    user        TEXT NOT NULL CHECK (length(user) >= 1),   -- login name
    direction   TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER CHECK (ended_at IS NULL OR ended_at >= started_at), -- NULL while active
    outcome     TEXT REFERENCES outcome (name),             -- NULL while active
    caller      TEXT NOT NULL DEFAULT '',
    CHECK (ended_at IS NOT NULL OR outcome IS NULL)
) STRICT;

-- Every query names the services it covers (the caller's scope), so the
-- service index also serves time ranges; each index costs imports dearly.
CREATE INDEX session_by_service ON session (service_id, started_at);
CREATE INDEX session_by_user ON session (user, started_at);

-- A conclusion: submitted once per session, never changed. The session id is
-- the key, so a second conclusion of the same session cannot exist.
CREATE TABLE conclusion (
    session_id   INTEGER PRIMARY KEY REFERENCES session (id),
    concluded_at INTEGER NOT NULL,
    user         TEXT NOT NULL,    -- whose rights were used
    via          TEXT,             -- the tenant admin acting as user, if any
    retroactive  INTEGER NOT NULL CHECK (retroactive IN (0, 1)), -- submitted after the session ended
    code_count   INTEGER NOT NULL CHECK (code_count >= 0),       -- rows it has in conclusion_code
    tag_count    INTEGER NOT NULL CHECK (tag_count >= 0),        -- rows it has in conclusion_tag
    CHECK (code_count + tag_count >= 1)
) STRICT;

CREATE INDEX conclusion_by_time ON conclusion (concluded_at);

-- Each code as it was when the conclusion was submitted: a later rename does
-- not rewrite history.
CREATE TABLE conclusion_code (
    session_id INTEGER NOT NULL REFERENCES conclusion (session_id),
    position   INTEGER NOT NULL CHECK (position >= 1),
    code_id    INTEGER NOT NULL REFERENCES code (id),
    type       TEXT NOT NULL CHECK (type IN ('primary', 'secondary')),
    name       TEXT NOT NULL,
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, code_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX conclusion_code_by_code ON conclusion_code (code_id);

CREATE TABLE conclusion_tag (
    session_id INTEGER NOT NULL REFERENCES conclusion (session_id),
    position   INTEGER NOT NULL CHECK (position >= 1),
    tag        TEXT NOT NULL CHECK (length(tag) BETWEEN 1 AND 50),
    tag_key    TEXT NOT NULL,      -- case-folded
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, tag_key)
) STRICT, WITHOUT ROWID;

-- Permanent means permanent, for the tool and for raw SQL alike: conclusions,
-- their codes and their tags are never updated or deleted. INSERT OR REPLACE
-- would delete a row without firing a delete trigger, so inserts over an
-- existing key are refused too, and a conclusion takes exactly the number of
-- codes and tags it declared when it was written.
CREATE TRIGGER conclusion_no_update BEFORE UPDATE ON conclusion
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_no_delete BEFORE DELETE ON conclusion
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_no_replace BEFORE INSERT ON conclusion
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;

CREATE TRIGGER conclusion_code_no_update BEFORE UPDATE ON conclusion_code
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_code_no_delete BEFORE DELETE ON conclusion_code
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_code_no_addition BEFORE INSERT ON conclusion_code
WHEN (SELECT count(*) FROM conclusion_code WHERE session_id = NEW.session_id)
     >= (SELECT code_count FROM conclusion WHERE session_id = NEW.session_id)
  OR EXISTS (SELECT 1 FROM conclusion_code
             WHERE session_id = NEW.session_id AND position = NEW.position)
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;

CREATE TRIGGER conclusion_tag_no_update BEFORE UPDATE ON conclusion_tag
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_tag_no_delete BEFORE DELETE ON conclusion_tag
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_tag_no_addition BEFORE INSERT ON conclusion_tag
WHEN (SELECT count(*) FROM conclusion_tag WHERE session_id = NEW.session_id)
     >= (SELECT tag_count FROM conclusion WHERE session_id = NEW.session_id)
  OR EXISTS (SELECT 1 FROM conclusion_tag
             WHERE session_id = NEW.session_id AND position = NEW.position)
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;

-- A concluded session's call data is part of the permanent record too; only an
-- active call's end (ended_at and outcome, both empty so far) may be filled in.
CREATE TRIGGER session_concluded_no_update BEFORE UPDATE ON session
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = OLD.id)
 AND NOT (OLD.ended_at IS NULL AND OLD.outcome IS NULL
          AND NEW.id = OLD.id AND NEW.external_id = OLD.external_id
          AND NEW.service_id = OLD.service_id AND NEW.user = OLD.user
          AND NEW.direction = OLD.direction AND NEW.started_at = OLD.started_at
          AND NEW.caller = OLD.caller)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_concluded_no_delete BEFORE DELETE ON session
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_concluded_no_replace BEFORE INSERT ON session
WHEN EXISTS (SELECT 1 FROM session s JOIN conclusion c ON c.session_id = s.id
             WHERE s.external_id = NEW.external_id)
  OR EXISTS (SELECT 1 FROM conclusion WHERE session_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;

-- The same protection for schema 1's append-only tables, against INSERT OR REPLACE.
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER code_no_replace BEFORE INSERT ON code
WHEN EXISTS (SELECT 1 FROM code WHERE id = NEW.id)
  OR (NEW.deleted_at IS NULL AND EXISTS (
        SELECT 1 FROM code WHERE ou_id = NEW.ou_id AND type = NEW.type
                             AND name_key = NEW.name_key AND deleted_at IS NULL))
BEGIN
    SELECT RAISE(ABORT, 'codes are never erased; mark them deleted instead');
END;
