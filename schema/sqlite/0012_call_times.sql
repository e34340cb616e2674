-- nimbus-codes schema 12: a call's waiting and talk time (docs/sessions.md,
-- "Session details"), where the call system's export gives them. They belong
-- to the call's end and arrive with it: written with a session that has
-- ended, or with the end of an active one. A session without them has no row
-- here, so the ledger's records chained before schema 12 hash as they did.

CREATE TABLE session_times (
    session_id      INTEGER PRIMARY KEY REFERENCES session (id),
    waiting_seconds INTEGER CHECK (waiting_seconds BETWEEN 0 AND 31622400),
    talk_seconds    INTEGER CHECK (talk_seconds BETWEEN 0 AND 31622400),
    CHECK (waiting_seconds IS NOT NULL OR talk_seconds IS NOT NULL)
) STRICT;

-- A concluded session's times are final, as its call data is: never changed
-- or removed, and added only with the end of a call concluded while it was
-- active (written before the end itself, while the session's end is unknown);
-- INSERT OR REPLACE, which removes the row it replaces, is an addition too.
CREATE TRIGGER session_times_concluded_no_update BEFORE UPDATE ON session_times
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id IN (OLD.session_id, NEW.session_id))
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_times_concluded_no_delete BEFORE DELETE ON session_times
WHEN EXISTS (SELECT 1 FROM conclusion WHERE session_id = OLD.session_id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
CREATE TRIGGER session_times_concluded_no_addition BEFORE INSERT ON session_times
WHEN EXISTS (SELECT 1 FROM conclusion c JOIN session s ON s.id = c.session_id
             WHERE c.session_id = NEW.session_id AND s.ended_at IS NOT NULL)
  OR EXISTS (SELECT 1 FROM session_times t JOIN conclusion c ON c.session_id = t.session_id
             WHERE t.session_id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'a concluded session is final');
END;
