-- nimbus-codes schema 10: the caller directory (docs/sessions.md, "Caller
-- information"). An OU may hold a directory, the callers that its services'
-- agents see, by phone number in E.164 form. A session's caller is looked up
-- in the directory of its service's OU first, then in each OU above it.

CREATE TABLE directory (
    ou_id       INTEGER PRIMARY KEY REFERENCES ou (id),
    country     TEXT NOT NULL CHECK (length(country) = 2 AND country GLOB '[A-Z][A-Z]'),
    imported_at TEXT NOT NULL
) STRICT;

CREATE TABLE directory_entry (
    ou_id      INTEGER NOT NULL REFERENCES directory (ou_id),
    number     TEXT NOT NULL CHECK (length(number) BETWEEN 3 AND 16 AND number GLOB '+[1-9]*'
                                    AND substr(number, 2) NOT GLOB '*[^0-9]*'),
    name       TEXT NOT NULL CHECK (length(name) <= 200),
    company    TEXT NOT NULL CHECK (length(company) <= 200),
    email      TEXT NOT NULL CHECK (length(email) <= 254),
    notes      TEXT NOT NULL CHECK (length(notes) <= 2000),
    attributes TEXT NOT NULL CHECK (json_valid(attributes) AND json_type(attributes) = 'object'),
    PRIMARY KEY (ou_id, number)
) STRICT;

-- Sessions look callers up by number, in whichever OU holds them.
CREATE INDEX directory_entry_by_number ON directory_entry (number);

-- A caller's earlier sessions in a service: the codes they were concluded
-- with are suggested for the next one (docs/sessions.md, "Suggestions").
CREATE INDEX session_by_caller ON session (caller, service_id, started_at);
