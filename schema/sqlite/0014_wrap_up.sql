-- nimbus-codes schema 14: after-call work (docs/sessions.md, "After-call
-- work"). A service may require its sessions to be concluded within a
-- deadline after the call's end; 'session sweep' concludes those left open
-- past it with the service's default codes, and marks those conclusions as
-- concluded by default.

CREATE TABLE service_wrap_up (
    service_id        INTEGER PRIMARY KEY REFERENCES service (id),
    deadline_seconds  INTEGER NOT NULL CHECK (deadline_seconds BETWEEN 60 AND 31622400),
    default_primary   INTEGER NOT NULL REFERENCES code (id),
    default_secondary INTEGER REFERENCES code (id),
    -- Calls that ended before the service first had the policy are never swept.
    effective_from    INTEGER NOT NULL
) STRICT;

-- A conclusion written by a sweep, with the deadline that had passed. Part of
-- the conclusion's record, and as final: written with the conclusion, before
-- its codes (a swept conclusion has its default codes), and never added once
-- they are all there, changed or removed. A conclusion concluded by its
-- agent has no row here, so records chained before schema 14 hash as they did.
CREATE TABLE conclusion_default (
    session_id  INTEGER PRIMARY KEY REFERENCES conclusion (session_id),
    deadline_at INTEGER NOT NULL
) STRICT;

CREATE TRIGGER conclusion_default_with_its_conclusion BEFORE INSERT ON conclusion_default
WHEN (SELECT count(*) FROM conclusion_code WHERE session_id = NEW.session_id)
     >= coalesce((SELECT code_count FROM conclusion WHERE session_id = NEW.session_id), 0)
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_default_is_final_update BEFORE UPDATE ON conclusion_default
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
CREATE TRIGGER conclusion_default_is_final_delete BEFORE DELETE ON conclusion_default
BEGIN
    SELECT RAISE(ABORT, 'a conclusion is final');
END;
