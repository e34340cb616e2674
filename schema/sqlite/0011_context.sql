-- nimbus-codes schema 11: conversation context (docs/sessions.md,
-- "Conversation context"). An OU defines context fields, which apply to the
-- services in its subtree; a session carries the values its call's workflow
-- gathered, written with the session by the import. Once the session is
-- concluded they are part of its permanent record (and of its ledger entry).

CREATE TABLE context_field (
    id          INTEGER PRIMARY KEY,
    ou_id       INTEGER NOT NULL REFERENCES ou (id),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    name_key    TEXT NOT NULL,
    type        TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'choice')),
    choices     TEXT NOT NULL CHECK (json_valid(choices) AND json_type(choices) = 'array'),
    description TEXT NOT NULL CHECK (length(description) <= 500),
    UNIQUE (ou_id, name_key)
) STRICT;

CREATE TABLE session_context (
    session_id INTEGER NOT NULL REFERENCES session (id),
    field_id   INTEGER NOT NULL REFERENCES context_field (id),
    value      TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 500),
    PRIMARY KEY (session_id, field_id)
) STRICT, WITHOUT ROWID;

-- Whether a field is in use, before it is removed or retyped.
CREATE INDEX session_context_by_field ON session_context (field_id);

-- A concluded session's context is final, as its call data is: no value is
-- changed, removed or added (INSERT OR REPLACE included, which adds).
CREATE TRIGGER session_context_concluded_no_update BEFORE UPDATE ON session_context
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id IN (OLD.session_id, NEW.session_id))
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_context_concluded_no_delete BEFORE DELETE ON session_context
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = OLD.session_id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_context_concluded_no_addition BEFORE INSERT ON session_context
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;

-- A field is its OU and name: it keeps its id, OU and name key (its name
-- changes case at most, and never takes another field's place, which UPDATE
-- OR REPLACE would erase), and its type once sessions carry values of it;
-- whether foreign keys are on or not.
CREATE TRIGGER context_field_keys_are_fixed BEFORE UPDATE ON context_field
WHEN NEW.id IS NOT OLD.id OR NEW.ou_id IS NOT OLD.ou_id OR NEW.name_key IS NOT OLD.name_key
  OR (NEW.type IS NOT OLD.type
      AND EXISTS (SELECT 1 FROM session_context WHERE field_id = OLD.id))
BEGIN
    SELECT RAISE(ABORT, 'a context field keeps its id, OU and name, and its type once used');
END;
CREATE TRIGGER context_field_no_delete BEFORE DELETE ON context_field
WHEN EXISTS (SELECT 1 FROM session_context WHERE field_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'a context field that sessions carry is never deleted');
END;
CREATE TRIGGER context_field_no_replace BEFORE INSERT ON context_field
WHEN EXISTS (SELECT 1 FROM context_field WHERE id = NEW.id
                OR (ou_id = NEW.ou_id AND name_key = NEW.name_key))
BEGIN
    SELECT RAISE(ABORT, 'a context field is never replaced');
END;
CREATE TRIGGER ou_with_context_no_delete BEFORE DELETE ON ou
WHEN EXISTS (SELECT 1 FROM context_field WHERE ou_id = OLD.id)
BEGIN
    SELECT RAISE(ABORT, 'an OU that anything names is never deleted');
END;
