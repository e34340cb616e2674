-- nimbus-codes schema 10 for PostgreSQL: the caller directory, as in
-- schema/sqlite/0010_directory.sql, and who may read and write it on a server
-- that enforces the role table (schema 9).

CREATE TABLE directory (
    ou_id       BIGINT PRIMARY KEY REFERENCES ou (id),
    country     TEXT COLLATE "C" NOT NULL CHECK (country ~ '^[A-Z][A-Z]$'),
    imported_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE directory_entry (
    ou_id      BIGINT NOT NULL REFERENCES directory (ou_id),
    number     TEXT COLLATE "C" NOT NULL CHECK (number ~ '^\+[1-9][0-9]{1,14}$'),
    name       TEXT COLLATE "C" NOT NULL CHECK (length(name) <= 200),
    company    TEXT COLLATE "C" NOT NULL CHECK (length(company) <= 200),
    email      TEXT COLLATE "C" NOT NULL CHECK (length(email) <= 254),
    notes      TEXT COLLATE "C" NOT NULL CHECK (length(notes) <= 2000),
    attributes TEXT COLLATE "C" NOT NULL CHECK (jsonb_typeof(attributes::jsonb) = 'object'),
    PRIMARY KEY (ou_id, number)
);

CREATE INDEX directory_entry_by_number ON directory_entry (number);

-- Read by those who may read the directory in its OU, and written by those
-- who may manage it there. Agents read no directory on such a server: a
-- policy cannot tell which entries their own sessions' callers are (a
-- session keeps its caller as the call system wrote it, and the numbers are
-- compared by libphonenumber in the client), and letting them read whole
-- directories would hand them the CRM's export.
ALTER TABLE directory ENABLE ROW LEVEL SECURITY;
CREATE POLICY directory_read ON directory FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR ou_id = ANY ((SELECT nimbus_ous('read-directory'))::bigint[]));
CREATE POLICY directory_manage ON directory FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR ou_id = ANY ((SELECT nimbus_ous('manage-directory'))::bigint[]));

ALTER TABLE directory_entry ENABLE ROW LEVEL SECURITY;
CREATE POLICY directory_entry_read ON directory_entry FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR ou_id = ANY ((SELECT nimbus_ous('read-directory'))::bigint[]));
CREATE POLICY directory_entry_manage ON directory_entry FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR ou_id = ANY ((SELECT nimbus_ous('manage-directory'))::bigint[]));

-- A caller's earlier sessions in a service: the codes they were concluded
-- with are suggested for the next one (docs/sessions.md, "Suggestions").
CREATE INDEX session_by_caller ON session (caller, service_id, started_at);
