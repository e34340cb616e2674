-- nimbus-codes schema 1: organization units, the code catalogue and the audit trail.
-- Times are UTC text in RFC 3339 form with a Z suffix, so they sort as they read.

CREATE TABLE ou (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES ou (id),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    path       TEXT NOT NULL,
    path_key   TEXT NOT NULL UNIQUE,  -- case-folded path
    created_at TEXT NOT NULL,
    CHECK ((parent_id IS NULL) = (path = name))
) STRICT;

-- Exactly one tenant root.
CREATE UNIQUE INDEX ou_single_root ON ou ((parent_id IS NULL)) WHERE parent_id IS NULL;

CREATE TABLE code (
    id          INTEGER PRIMARY KEY,
    type        TEXT NOT NULL CHECK (type IN ('primary', 'secondary')),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    name_key    TEXT NOT NULL,        -- case-folded name
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    ou_id       INTEGER NOT NULL REFERENCES ou (id),
    created_at  TEXT NOT NULL,
    deleted_at  TEXT                  -- a deleted code stays for history and reports
) STRICT;

-- Names are unique per type on any OU path; the library checks the whole path,
-- this index backs up the same-OU case.
CREATE UNIQUE INDEX code_live_name ON code (ou_id, type, name_key) WHERE deleted_at IS NULL;
CREATE INDEX code_by_name ON code (name_key);

-- Codes are retired, never erased.
CREATE TRIGGER code_no_delete BEFORE DELETE ON code
BEGIN
    SELECT RAISE(ABORT, 'codes are never erased; mark them deleted instead');
END;

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    user   TEXT NOT NULL,             -- whose rights were used
    via    TEXT,                      -- the tenant admin acting as user, if any
    ou_id  INTEGER REFERENCES ou (id),-- the OU the change concerns (scopes who may read it)
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT CHECK (before IS NULL OR json_valid(before)),
    after  TEXT CHECK (after IS NULL OR json_valid(after))
) STRICT;

CREATE INDEX audit_by_time ON audit (at);

-- The audit trail is append-only, for the tool and for raw SQL alike.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
