-- nimbus-codes schema 13: sessions' callers matched to the directory by the
-- store itself (docs/sessions.md, "Caller information"). A session keeps its
-- caller as the call system wrote it ("044 668 18 00"); caller_number keeps
-- how libphonenumber reads it in a directory's country ("+41446681800", or
-- NULL for no phone number there). nimbus-codes writes these readings when it
-- imports sessions and directories, and reads callers through session_caller,
-- which a PostgreSQL server can offer to agents who may not read directories
-- (schema/postgresql/0013_caller_numbers.sql).

CREATE TABLE caller_number (
    caller  TEXT NOT NULL CHECK (length(caller) >= 1),
    country TEXT NOT NULL CHECK (length(country) = 2 AND country GLOB '[A-Z][A-Z]'),
    number  TEXT CHECK (length(number) BETWEEN 3 AND 16 AND number GLOB '+[1-9]*'
                        AND substr(number, 2) NOT GLOB '*[^0-9]*'),
    PRIMARY KEY (caller, country)
) STRICT, WITHOUT ROWID;

-- The countries in which sessions' callers are read: one per directory.
CREATE VIEW directory_country AS SELECT DISTINCT country FROM directory;

-- For each session of a service with caller-information on, each directory
-- of its service's OU or an OU above it (nearness: the longer the OU's path,
-- the nearer), with the caller's entry there when it has one. The nearest
-- directory that knows the caller names it.
CREATE VIEW session_caller AS
SELECT s.id AS session_id, length(dou.path_key) AS nearness,
       e.ou_id, e.number, e.name, e.company, e.email, e.notes, e.attributes
FROM session s
JOIN service_extension x ON x.service_id = s.service_id AND x.feature = 'caller-information'
JOIN service v ON v.id = s.service_id
JOIN ou so ON so.id = v.ou_id
JOIN directory d
JOIN ou dou ON dou.id = d.ou_id
           AND (so.path_key = dou.path_key
                OR substr(so.path_key, 1, length(dou.path_key) + 1) = dou.path_key || '/')
LEFT JOIN caller_number c ON c.caller = s.caller AND c.country = d.country
LEFT JOIN directory_entry e ON e.ou_id = d.ou_id AND e.number = c.number;
