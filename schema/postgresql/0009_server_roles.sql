-- nimbus-codes schema 9 for PostgreSQL: the server enforces the role table.
--
-- Once a tenant admin (or the store's owner) has stored the identity file's
-- users and grants here ('nimbus-codes identity push'), each person connects
-- as their own PostgreSQL role and the caller is session_user: row-level
-- security lets a role read and write only what the role table
-- (lib/nimbus/identity/policy.cpp) lets that person read and write, whatever
-- client they use. The table's rules themselves are rows of role_rule,
-- written by 'nimbus-codes init' from the binary's own table; the policies
-- below name an action and its scope, never a role.
--
-- Until a roster is stored, every policy lets everything through: the store
-- is a trusted team's, and table privileges alone decide (docs/postgresql.md).
-- The owner of the tables, who runs init, is not subject to the policies.

-- Who is who: the identity file's [users] tables.
CREATE TABLE person (
    login        TEXT COLLATE "C" PRIMARY KEY CHECK (length(login) >= 1), -- the database role
    name         TEXT COLLATE "C" NOT NULL CHECK (length(name) >= 1),
    email        TEXT COLLATE "C" NOT NULL DEFAULT '',
    tenant_admin BOOLEAN NOT NULL
);

-- What each person holds: OU subtrees they administer, services they own,
-- supervise or work in, by case-folded name (ou.path_key, service.name_key).
CREATE TABLE person_grant (
    login      TEXT COLLATE "C" NOT NULL REFERENCES person (login),
    role       TEXT COLLATE "C" NOT NULL CHECK (role IN ('ou_admin', 'owner', 'supervisor', 'member')),
    position   BIGINT NOT NULL CHECK (position >= 1),
    target     TEXT COLLATE "C" NOT NULL,  -- as the identity file writes it
    target_key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (login, role, position)
);

-- The role table: for each action, the roles (policy::Role bits) that may
-- take it and the audit records it writes.
CREATE TABLE role_rule (
    action  TEXT COLLATE "C" PRIMARY KEY,
    roles   INTEGER NOT NULL CHECK (roles > 0),
    audited TEXT[] COLLATE "C" NOT NULL
);

-- The functions that policies call. Each runs as the store's owner, reads
-- only the three tables above and the catalogue, and takes the caller from
-- session_user, which SET ROLE does not change.

-- True once a roster is stored.
CREATE FUNCTION nimbus_enforced() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
AS $$ SELECT EXISTS (SELECT 1 FROM person) $$;

-- The role bits of an action; 0 (nobody) for an action the table lacks.
CREATE FUNCTION nimbus_rule_roles(action text) RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER
AS $$ SELECT coalesce((SELECT r.roles FROM role_rule r WHERE r.action = nimbus_rule_roles.action), 0) $$;

-- True when the caller holds one of the action's roles somewhere (Scope::anywhere).
CREATE FUNCTION nimbus_may_anywhere(action text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT EXISTS (
        SELECT 1 FROM person p, (SELECT nimbus_rule_roles(action) AS bits) r
        WHERE p.login = session_user
          AND (r.bits & (32 | 64) <> 0
               OR (r.bits & 1 <> 0 AND p.tenant_admin)
               OR EXISTS (SELECT 1 FROM person_grant g
                          WHERE g.login = p.login
                            AND ((r.bits & 2 <> 0 AND g.role = 'ou_admin')
                                 OR (r.bits & 4 <> 0 AND g.role = 'owner')
                                 OR (r.bits & 8 <> 0 AND g.role = 'supervisor')
                                 OR (r.bits & 16 <> 0 AND g.role = 'member')))))
$$;

-- The services in which the caller holds one of the action's roles
-- (Scope::service): tenant admins all, OU admins those in their subtrees,
-- owners, supervisors and members theirs.
CREATE FUNCTION nimbus_services(action text) RETURNS bigint[] LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT coalesce(array_agg(s.id), '{}')
    FROM service s JOIN ou o ON o.id = s.ou_id, person p, (SELECT nimbus_rule_roles(action) AS bits) r
    WHERE p.login = session_user
      AND ((r.bits & 1 <> 0 AND p.tenant_admin)
           OR EXISTS (SELECT 1 FROM person_grant g
                      WHERE g.login = p.login
                        AND ((r.bits & 2 <> 0 AND g.role = 'ou_admin'
                              AND (o.path_key = g.target_key
                                   OR starts_with(o.path_key, g.target_key || '/')))
                             OR (g.target_key = s.name_key
                                 AND ((r.bits & 4 <> 0 AND g.role = 'owner')
                                      OR (r.bits & 8 <> 0 AND g.role = 'supervisor')
                                      OR (r.bits & 16 <> 0 AND g.role = 'member'))))))
$$;

-- The OUs in which the caller holds one of the action's roles (Scope::ou):
-- tenant admins all, OU admins their subtrees, the service roles the OU of
-- each of their services.
CREATE FUNCTION nimbus_ous(action text) RETURNS bigint[] LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT coalesce(array_agg(o.id), '{}')
    FROM ou o, person p, (SELECT nimbus_rule_roles(action) AS bits) r
    WHERE p.login = session_user
      AND ((r.bits & 1 <> 0 AND p.tenant_admin)
           OR EXISTS (SELECT 1 FROM person_grant g
                      WHERE g.login = p.login
                        AND ((r.bits & 2 <> 0 AND g.role = 'ou_admin'
                              AND (o.path_key = g.target_key
                                   OR starts_with(o.path_key, g.target_key || '/')))
                             OR (((r.bits & 4 <> 0 AND g.role = 'owner')
                                  OR (r.bits & 8 <> 0 AND g.role = 'supervisor')
                                  OR (r.bits & 16 <> 0 AND g.role = 'member'))
                                 AND EXISTS (SELECT 1 FROM service s
                                             WHERE s.ou_id = o.id AND s.name_key = g.target_key)))))
$$;

-- True when the action reaches tenant-wide records (Scope::tenant): tenant admins.
CREATE FUNCTION nimbus_tenant_wide(action text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT nimbus_rule_roles(action) & 1 <> 0
       AND EXISTS (SELECT 1 FROM person WHERE login = session_user AND tenant_admin)
$$;

-- True when the action lets a session's own agent take it (Role::SessionUser).
CREATE FUNCTION nimbus_by_own_agent(action text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
AS $$ SELECT nimbus_rule_roles(action) & 64 <> 0 $$;

-- True when a row naming "user" and via may be written by the caller: in
-- their own name, or as a tenant admin acting for a listed user (the act-as
-- rule) and named as via. Whatever the client sends, the name is session_user's.
CREATE FUNCTION nimbus_writes_as("user" text, via text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT CASE WHEN via IS NULL THEN "user" = session_user
                ELSE via = session_user AND nimbus_may_anywhere('act-as')
                     AND EXISTS (SELECT 1 FROM person WHERE login = "user") END
$$;

-- True when the caller may conclude the session, in the name of "user".
CREATE FUNCTION nimbus_may_conclude(session_id bigint, "user" text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
AS $$
    SELECT EXISTS (
        SELECT 1 FROM session s
        WHERE s.id = session_id
          AND (s.service_id = ANY (nimbus_services('conclude-session'))
               OR (nimbus_by_own_agent('conclude-session') AND s."user" = nimbus_may_conclude."user"))
          AND EXISTS (SELECT 1 FROM service_extension e
                      WHERE e.service_id = s.service_id AND e.feature = 'codes-and-tags'))
$$;

-- Writers that wait for one another could be held up by anyone who can
-- write: the writers' advisory lock, or the ledger's next position, can be
-- taken by any role and kept in an open transaction. So once a roster is
-- stored, writers take no lock (they run SERIALIZABLE, and run again when a
-- concurrent one got in the way), and the ledger's entries are appended
-- without waiting: each transaction adds its entries here, and
-- nimbus_chain_pending() moves them into the chain, in the order it finds
-- them, when nobody else is chaining. A transaction that stays open holds up
-- the chaining, never a write; verify counts what is still pending.
CREATE TABLE ledger_pending (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT COLLATE "C" NOT NULL CHECK (kind IN ('conclusion', 'completion', 'audit')),
    record_id   BIGINT NOT NULL,
    record_hash TEXT COLLATE "C" NOT NULL CHECK (length(record_hash) = 64)
);
CREATE TRIGGER ledger_pending_no_change BEFORE UPDATE ON ledger_pending
    FOR EACH ROW EXECUTE FUNCTION nimbus_refuse('the ledger is append-only');
CREATE TRIGGER ledger_pending_no_truncate BEFORE TRUNCATE ON ledger_pending
    FOR EACH STATEMENT EXECUTE FUNCTION nimbus_refuse('the ledger is append-only');

-- Chains the pending entries that this transaction sees, unless another is
-- chaining (then it leaves them to the next); gives how many it chained. The
-- link is the tool's (record_hash.hpp): SHA-256 of the previous chain hash
-- (32 zero bytes before the first) and the record hash.
CREATE FUNCTION nimbus_chain_pending() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
AS $$
DECLARE
    last_position BIGINT;
    last_chain    TEXT;
    entry         RECORD;
    chained       BIGINT := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(1313031251, 2) THEN
        RETURN 0;
    END IF;
    SELECT l.position, l.chain_hash INTO last_position, last_chain
    FROM ledger l ORDER BY l.position DESC LIMIT 1;
    last_position := coalesce(last_position, 0);
    last_chain := coalesce(last_chain, repeat('0', 64));
    FOR entry IN SELECT * FROM ledger_pending ORDER BY id LOOP
        last_position := last_position + 1;
        last_chain := encode(sha256(decode(last_chain, 'hex') || decode(entry.record_hash, 'hex')),
                             'hex');
        INSERT INTO ledger (position, kind, record_id, record_hash, chain_hash)
        VALUES (last_position, entry.kind, entry.record_id, entry.record_hash, last_chain);
        DELETE FROM ledger_pending WHERE id = entry.id;
        chained := chained + 1;
    END LOOP;
    RETURN chained;
END
$$;

-- A conclusion or an audit record that a person writes is chained (or
-- pending) by the same transaction, as the tool does: one written by another
-- client without its entry is refused at commit. (The owner, who copies
-- stores and upgrades them, is trusted with the ledger as with the tables.)
CREATE INDEX ledger_by_record ON ledger (record_id, kind);
CREATE INDEX ledger_pending_by_record ON ledger_pending (record_id, kind);

CREATE FUNCTION record_is_chained() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
AS $$
DECLARE
    record BIGINT;
BEGIN
    IF TG_ARGV[0] = 'audit' THEN
        record := NEW.id;
    ELSE
        record := NEW.session_id;
    END IF;
    IF nimbus_enforced()
       AND NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE')
       AND NOT EXISTS (SELECT 1 FROM ledger WHERE record_id = record AND kind = TG_ARGV[0])
       AND NOT EXISTS (SELECT 1 FROM ledger_pending
                       WHERE record_id = record AND kind = TG_ARGV[0]) THEN
        RAISE EXCEPTION 'a permanent record is written with its ledger entry'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER conclusion_is_chained AFTER INSERT ON conclusion
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_is_chained('conclusion');
CREATE CONSTRAINT TRIGGER audit_is_chained AFTER INSERT ON audit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION record_is_chained('audit');

-- As in schema 6: the store's schema first, pg_temp last. Nobody but the
-- owner needs to call these functions directly; policies call them with the
-- owner's rights.
DO $$
DECLARE
    name TEXT;
BEGIN
    FOREACH name IN ARRAY ARRAY['nimbus_enforced()', 'nimbus_rule_roles(text)',
                                'nimbus_may_anywhere(text)', 'nimbus_services(text)',
                                'nimbus_ous(text)', 'nimbus_tenant_wide(text)',
                                'nimbus_by_own_agent(text)', 'nimbus_writes_as(text, text)',
                                'nimbus_may_conclude(bigint, text)', 'record_is_chained()',
                                'nimbus_chain_pending()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', name, current_schema());
    END LOOP;
END
$$;

-- The policies: each lets a statement through while no roster is stored
-- (no row in person, which every person of the store may read), and
-- otherwise only within the scope of the action that governs it. The
-- functions' answers are computed once per statement (the scalar subqueries).
ALTER TABLE person ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_grant ENABLE ROW LEVEL SECURITY;
CREATE POLICY person_read ON person FOR SELECT USING (true);
CREATE POLICY person_add ON person FOR INSERT
    WITH CHECK ((SELECT NOT nimbus_enforced()) OR (SELECT nimbus_may_anywhere('push-identity')));
CREATE POLICY person_remove ON person FOR DELETE
    USING ((SELECT nimbus_may_anywhere('push-identity')));
CREATE POLICY person_grant_read ON person_grant FOR SELECT USING (true);
CREATE POLICY person_grant_add ON person_grant FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person) OR (SELECT nimbus_may_anywhere('push-identity')));
CREATE POLICY person_grant_remove ON person_grant FOR DELETE
    USING (NOT EXISTS (SELECT 1 FROM person) OR (SELECT nimbus_may_anywhere('push-identity')));

ALTER TABLE ou ENABLE ROW LEVEL SECURITY;
CREATE POLICY ou_read ON ou FOR SELECT USING (true);
CREATE POLICY ou_create ON ou FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person) OR parent_id = ANY ((SELECT nimbus_ous('create-ou'))::bigint[]));

ALTER TABLE code ENABLE ROW LEVEL SECURITY;
CREATE POLICY code_read ON code FOR SELECT USING (true);
CREATE POLICY code_create ON code FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person) OR ou_id = ANY ((SELECT nimbus_ous('change-codes'))::bigint[]));
CREATE POLICY code_change ON code FOR UPDATE
    USING (NOT EXISTS (SELECT 1 FROM person) OR ou_id = ANY ((SELECT nimbus_ous('change-codes'))::bigint[]));

ALTER TABLE service ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_read ON service FOR SELECT USING (true);
CREATE POLICY service_create ON service FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person) OR ou_id = ANY ((SELECT nimbus_ous('create-service'))::bigint[]));
CREATE POLICY service_change ON service FOR UPDATE
    USING (NOT EXISTS (SELECT 1 FROM person) OR id = ANY ((SELECT nimbus_services('change-service'))::bigint[]));

ALTER TABLE service_code ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_code_read ON service_code FOR SELECT USING (true);
CREATE POLICY service_code_configure ON service_code FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('configure-service'))::bigint[]));

ALTER TABLE service_extension ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_extension_read ON service_extension FOR SELECT USING (true);
CREATE POLICY service_extension_configure ON service_extension FOR ALL
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('configure-service'))::bigint[]));

-- Sessions: their services' (the read rule's roles there), or the agent's own.
ALTER TABLE session ENABLE ROW LEVEL SECURITY;
CREATE POLICY session_read ON session FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('read-sessions'))::bigint[])
           OR ((SELECT nimbus_by_own_agent('read-sessions')) AND "user" = session_user)
           OR service_id = ANY ((SELECT nimbus_services('import-sessions'))::bigint[]));
CREATE POLICY session_import ON session FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR service_id = ANY ((SELECT nimbus_services('import-sessions'))::bigint[]));
CREATE POLICY session_complete ON session FOR UPDATE
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR service_id = ANY ((SELECT nimbus_services('import-sessions'))::bigint[]));

-- A conclusion: read with its session; written once, in the caller's own
-- name, for a session they may conclude in a service with codes-and-tags on,
-- with codes from that service's lists under their current names, and tags
-- as the tool cleans them.
ALTER TABLE conclusion ENABLE ROW LEVEL SECURITY;
CREATE POLICY conclusion_read ON conclusion FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person) OR EXISTS (SELECT 1 FROM session s WHERE s.id = session_id));
CREATE POLICY conclusion_write ON conclusion FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR (nimbus_writes_as("user", via) AND nimbus_may_conclude(session_id, "user")
                    AND tag_count <= 20));

ALTER TABLE conclusion_code ENABLE ROW LEVEL SECURITY;
CREATE POLICY conclusion_code_read ON conclusion_code FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person) OR EXISTS (SELECT 1 FROM session s WHERE s.id = session_id));
CREATE POLICY conclusion_code_write ON conclusion_code FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR EXISTS (SELECT 1
                           FROM conclusion c
                           JOIN session s ON s.id = c.session_id
                           JOIN service_code l ON l.service_id = s.service_id
                           JOIN code k ON k.id = l.code_id
                           WHERE c.session_id = conclusion_code.session_id
                             AND nimbus_writes_as(c."user", c.via)
                             AND l.list = conclusion_code.type
                             AND l.code_id = conclusion_code.code_id
                             AND k.name = conclusion_code.name));

ALTER TABLE conclusion_tag ENABLE ROW LEVEL SECURITY;
CREATE POLICY conclusion_tag_read ON conclusion_tag FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person) OR EXISTS (SELECT 1 FROM session s WHERE s.id = session_id));
CREATE POLICY conclusion_tag_write ON conclusion_tag FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR (EXISTS (SELECT 1 FROM conclusion c
                            WHERE c.session_id = conclusion_tag.session_id
                              AND nimbus_writes_as(c."user", c.via))
                    AND tag = btrim(tag) AND tag !~ '[[:cntrl:]]'
                    AND tag_key = lower(tag_key) AND length(tag_key) >= 1));

-- The audit trail: each record in its writer's own name, of an action whose
-- rule they hold; read by the audit rule's roles in each record's OU, and by
-- the person it names.
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_read ON audit FOR SELECT
    USING (NOT EXISTS (SELECT 1 FROM person)
           OR ou_id = ANY ((SELECT nimbus_ous('read-audit'))::bigint[])
           OR (ou_id IS NULL AND (SELECT nimbus_tenant_wide('read-audit')))
           OR "user" = session_user OR via = session_user);
CREATE POLICY audit_write ON audit FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM person)
                OR (nimbus_writes_as("user", via)
                    AND EXISTS (SELECT 1 FROM role_rule r
                                WHERE audit.action = ANY (r.audited)
                                  AND nimbus_may_anywhere(r.action))));

-- The ledger: written by the chaining alone once a roster is stored; each
-- pending entry by the writer of its record, once.
ALTER TABLE ledger ENABLE ROW LEVEL SECURITY;
CREATE POLICY ledger_read ON ledger FOR SELECT USING (true);
CREATE POLICY ledger_append ON ledger FOR INSERT WITH CHECK (NOT EXISTS (SELECT 1 FROM person));

ALTER TABLE ledger_pending ENABLE ROW LEVEL SECURITY;
CREATE POLICY ledger_pending_read ON ledger_pending FOR SELECT USING (true);
CREATE POLICY ledger_pending_append ON ledger_pending FOR INSERT
    WITH CHECK (NOT EXISTS (SELECT 1 FROM ledger l
                            WHERE l.record_id = ledger_pending.record_id
                              AND l.kind = ledger_pending.kind)
                AND NOT EXISTS (SELECT 1 FROM ledger_pending p
                                WHERE p.record_id = ledger_pending.record_id
                                  AND p.kind = ledger_pending.kind)
                AND CASE kind
                WHEN 'conclusion' THEN EXISTS (SELECT 1 FROM conclusion c
                                               WHERE c.session_id = record_id
                                                 AND nimbus_writes_as(c."user", c.via))
                WHEN 'audit' THEN EXISTS (SELECT 1 FROM audit a
                                          WHERE a.id = record_id
                                            AND nimbus_writes_as(a."user", a.via))
                ELSE EXISTS (SELECT 1 FROM session s
                             WHERE s.id = record_id
                               AND s.service_id = ANY ((SELECT nimbus_services('import-sessions'))::bigint[]))
                END);
