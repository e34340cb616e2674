-- nimbus-codes schema 13 for PostgreSQL: sessions' callers matched to the
-- directory by the store itself, as in schema/sqlite/0013_caller_numbers.sql.
-- On a server that enforces the role table (schema 9), agents, owners and
-- supervisors read no directory; session_caller shows each of them the
-- entries of the callers of the sessions they may read, and nothing else.

CREATE TABLE caller_number (
    caller  TEXT COLLATE "C" NOT NULL CHECK (length(caller) >= 1),
    country TEXT COLLATE "C" NOT NULL CHECK (country ~ '^[A-Z][A-Z]$'),
    number  TEXT COLLATE "C" CHECK (number ~ '^\+[1-9][0-9]{1,14}$'),
    PRIMARY KEY (caller, country)
);

-- A reading is read with a session that has its caller (the subquery sees
-- only the sessions the caller may read), and written by those who write
-- sessions or directories, for such a session: never changed or removed. An
-- importer who wrote a wrong reading would learn nothing that a session with
-- that number as its caller would not show them.
ALTER TABLE caller_number ENABLE ROW LEVEL SECURITY;
CREATE POLICY caller_number_read ON caller_number FOR SELECT
    USING (EXISTS (SELECT 1 FROM session s WHERE s.caller = caller_number.caller));
CREATE POLICY caller_number_add ON caller_number FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR (((SELECT nimbus_may_anywhere('import-sessions'))
                     OR (SELECT nimbus_may_anywhere('manage-directory')))
                    AND EXISTS (SELECT 1 FROM session s WHERE s.caller = caller_number.caller)));

-- The countries in which sessions' callers are read, one per directory, for
-- every importer: the view reads the directories with its owner's rights.
CREATE VIEW directory_country AS SELECT DISTINCT country FROM directory;

-- For each session the caller may read (the session_read policy's rule, as
-- the view reads with its owner's rights) of a service with
-- caller-information on: the nearest directory of its service's OU or an OU
-- above it that knows the caller, with the caller's entry, or else the
-- nearest directory, without one. The barrier keeps a caller's own functions
-- from seeing rows before the rule has filtered them.
CREATE VIEW session_caller WITH (security_barrier) AS
SELECT DISTINCT ON (s.id) s.id AS session_id, length(dou.path_key) AS nearness,
       e.ou_id, e.number, e.name, e.company, e.email, e.notes, e.attributes
FROM session s
JOIN service_extension x ON x.service_id = s.service_id AND x.feature = 'caller-information'
JOIN service v ON v.id = s.service_id
JOIN ou so ON so.id = v.ou_id
JOIN directory d ON true
JOIN ou dou ON dou.id = d.ou_id
           AND (so.path_key = dou.path_key OR starts_with(so.path_key, dou.path_key || '/'))
LEFT JOIN caller_number c ON c.caller = s.caller AND c.country = d.country
LEFT JOIN directory_entry e ON e.ou_id = d.ou_id AND e.number = c.number
WHERE NOT EXISTS (SELECT 1 FROM person)
   OR s.service_id = ANY ((SELECT nimbus_services('read-sessions'))::bigint[])
   OR ((SELECT nimbus_by_own_agent('read-sessions')) AND s."user" = session_user)
   OR s.service_id = ANY ((SELECT nimbus_services('import-sessions'))::bigint[])
ORDER BY s.id, e.number IS NULL, length(dou.path_key) DESC;

-- The trigger functions of schemas 11 and 12 get what schema 6 gave the
-- earlier ones: the store's schema first and pg_temp last on their search
-- path, so that a temporary table named like a permanent one (pg_temp comes
-- first unless named) cannot stand in for it and let a concluded session's
-- context or times be changed.
DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['context_field_is_kept()', 'ou_with_context_no_delete()',
                                'session_context_concluded_is_final()',
                                'session_times_concluded_is_final()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', name, current_schema());
    END LOOP;
END
$$;
