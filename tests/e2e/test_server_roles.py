"""A PostgreSQL store that enforces its roster (docs/postgresql.md, "A server that
enforces the roles"): each person connects as their own database role, the caller
is the role the server authenticated, and the server itself refuses what the role
table refuses, to the tool and to psql alike."""

import contextlib
import os
import subprocess
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from harness import (COMMAND, BUSY_TIMEOUT, NimbusTestCase, POSTGRESQL, ROOT, identity_toml, main,
                     postgresql_only, sqlite_only)

# The writers' lock (nimbus-codes' application id), the ledger's chaining lock
# and the rollups' folding lock.
WRITERS_LOCK = 0x4E434453
CHAINING_LOCK = f"{WRITERS_LOCK}, 2"
FOLDING_LOCK = f"{WRITERS_LOCK}, 3"

# Who is who, by the name each person's database role gets (with a suffix).
PEOPLE = {
    "alice": {"name": "Alice Admin", "tenant_admin": True},
    "sam": {"name": "Sam Sales", "ou_admin": ["Contoso/Sales"]},
    "olga": {"name": "Olga Owner", "owner": ["Hotline"]},
    "sue": {"name": "Sue Supervisor", "supervisor": ["Hotline"]},
    "mia": {"name": "Mia Member", "member": ["Hotline"]},
    "bob": {"name": "Bob Member", "member": ["Support"]},
}
OUTSIDER = "eve"  # a database role of the team that the roster does not list


@postgresql_only
class ServerRolesTest(NimbusTestCase):

    def setUp(self):
        super().setUp()
        suffix = os.urandom(4).hex()
        self.role = {name: f"{name}_{suffix}" for name in [*PEOPLE, OUTSIDER, "owner", "team"]}
        self.db = f"nimbus_server_{suffix}"
        self.addCleanup(self.drop)
        # The team's group role holds the privileges of docs/examples/postgresql-grants.sql;
        # each person logs in as their own role, a member of it.
        POSTGRESQL.psql(f"CREATE ROLE {self.role['team']} NOLOGIN")
        password = os.urandom(9).hex()
        POSTGRESQL.psql(f"CREATE ROLE {self.role['owner']} LOGIN PASSWORD '{password}'")
        for name in [*PEOPLE, OUTSIDER]:
            POSTGRESQL.psql(f"CREATE ROLE {self.role[name]} LOGIN PASSWORD '{password}' "
                            f"IN ROLE {self.role['team']}")
        POSTGRESQL.psql(f"CREATE DATABASE {self.db} OWNER {self.role['owner']}")
        POSTGRESQL.psql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=self.db)
        server = urllib.parse.urlsplit(POSTGRESQL.uri)
        passfile = os.path.join(self.sandbox.dir, "pgpass")
        with open(passfile, "w") as f:
            f.write(f"{server.hostname}:{server.port}:*:*:{password}\n")
        os.chmod(passfile, 0o600)
        self.sandbox.env["PGPASSFILE"] = passfile
        self.base = f"postgresql://{{}}@{server.hostname}:{server.port}/{self.db}"

        self.roster = os.path.join(self.sandbox.dir, "roster.toml")
        self.write_roster(PEOPLE)
        self.as_person("owner")
        self.run_ok("init", "--tenant", "Contoso")
        self.grant(self.db)
        self.run_ok("identity", "push", self.roster)

        self.as_person("alice")
        for command in (("ou", "create", "Contoso/Sales"),
                        ("code", "create", "--type", "primary", "--name", "Sale"),
                        ("code", "create", "--type", "primary", "--name", "Secret"),
                        ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
                        ("service", "create", "Support", "--ou", "Contoso", "--license", "contact-center"),
                        ("service", "apply", "Support", "--primary", "Sale"),
                        ("extension", "enable", "Support", "codes-and-tags")):
            self.run_ok(*command)
        self.import_sessions("bob", "Support", ["s-1", "s-2"])
        self.as_person("olga")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale")
        self.run_ok("extension", "enable", "Hotline", "codes-and-tags")
        self.import_sessions("mia", "Hotline", ["h-1", "h-2", "h-3"])

    def drop(self):
        POSTGRESQL.drop_database(self.db)
        for role in self.role.values():
            POSTGRESQL.psql(f"DROP ROLE IF EXISTS {role}", check=False)

    def grant(self, database):
        """docs/examples/postgresql-grants.sql for the team's group, run by the owner."""
        with open(os.path.join(ROOT, "docs", "examples", "postgresql-grants.sql"), encoding="utf-8") as f:
            granted = subprocess.run([POSTGRESQL.psql_binary, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                                      self.base.format(self.role["owner"]).rsplit("/", 1)[0] + "/" + database,
                                      "-c", f.read().replace("nimbus_app", self.role["team"])],
                                     capture_output=True, text=True, timeout=COMMAND,
                                     env=dict(os.environ, **self.sandbox.env))
        self.assertEqual(granted.returncode, 0, granted.stderr)

    def write_roster(self, people):
        with open(self.roster, "w", encoding="utf-8") as f:
            f.write(identity_toml({self.role[name]: fields for name, fields in people.items()}))
        os.chmod(self.roster, 0o600)

    def as_person(self, name):
        """Later commands connect as this person's role."""
        self.sandbox.use_store(self.base.format(self.role[name]))

    def import_sessions(self, agent, service, ids):
        rows = "".join(f"{i},{service},{self.role[agent]},inbound,2026-11-26T08:00:00Z,"
                       "2026-11-26T08:05:00Z,accepted,\n" for i in ids)
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin="id,service,user,direction,started_at,ended_at,outcome,caller\n" + rows)

    def sql(self, name, statement):
        """psql as a person's role: the completed process."""
        return subprocess.run([POSTGRESQL.psql_binary, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-d", self.base.format(self.role[name]), "-c", statement],
                              capture_output=True, text=True, timeout=COMMAND,
                              env=dict(os.environ, **self.sandbox.env))

    def value(self, name, query):
        done = self.sql(name, query)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout.strip()

    def rows_dumped(self):
        """The store as pg_dump writes it, but for where the id sequences stand: an
        insert that was refused still took a number."""
        return self.sandbox.dump_but_sequences()

    def id_of(self, table, where):
        return self.value("owner", f"SELECT id FROM {table} WHERE {where}")

    def test_each_person_acts_as_the_role_the_server_authenticated(self):
        self.as_person("mia")
        shown = self.json_ok("whoami")
        self.assertEqual((shown["user"], shown["member"]), (self.role["mia"], ["Hotline"]))
        self.assertEqual(shown["identity_file"], self.sandbox.store)
        self.assertEqual(sorted(s["id"] for s in self.json_ok("session", "list")), ["h-1", "h-2", "h-3"])
        self.assert_fails(3, "session", "show", "s-1")
        self.run_ok("session", "conclude", "h-1", "--primary", "Sale", "--tag", "vip")
        # An identity file of her own, named by flag or variable, changes nothing.
        evil = os.path.join(self.sandbox.dir, "evil.toml")
        with open(evil, "w") as f:
            f.write(identity_toml({self.role["mia"]: {"name": "Mia", "tenant_admin": True},
                                   self.role["bob"]: {"name": "Bob"}}))
        os.chmod(evil, 0o600)
        self.assert_fails(77, "--identity", evil, "--as", self.role["bob"], "session", "conclude", "s-2",
                          "--primary", "Sale", stderr="only tenant admins may act as another user")
        self.assert_fails(77, "code", "create", "--type", "primary", "--name", "Mine",
                          env={"NIMBUS_CODES_IDENTITY": evil})

        self.as_person("sue")
        rows = self.json_ok("report", "usage", "--month", "2026-11", "--by", "service,code")
        self.assertEqual({(r["service"], r["code"], r["sessions"]) for r in rows}, {("Hotline", "Sale", 1)})
        self.as_person("olga")
        self.assert_fails(77, "service", "edit", "Hotline", "--license", "basic-routing")
        self.as_person("sam")
        self.run_ok("service", "edit", "Hotline", "--license", "enterprise-routing")
        # An OU admin reads only part of the records: the ledger is a tenant admin's to verify.
        self.assert_fails(77, "verify", stderr="a tenant admin verifies it")
        self.as_person(OUTSIDER)
        self.assert_fails(77, "whoami", stderr=f'database role "{self.role[OUTSIDER]}" is not listed in the '
                                               "roster of store")
        self.as_person("alice")
        self.run_ok("--as", self.role["bob"], "session", "conclude", "s-1", "--primary", "Sale")
        records = {(r["action"], r["user"], r["via"]) for r in self.json_ok("audit", "list")}
        self.assertIn(("session.conclude", self.role["mia"], None), records)
        self.assertIn(("session.conclude", self.role["bob"], self.role["alice"]), records)
        self.assertEqual(self.json_ok("verify")["ledger"], "ok")

    def test_psql_as_each_role_changes_nothing_the_role_table_refuses(self):
        hotline, support = self.id_of("service", "name = 'Hotline'"), self.id_of("service", "name = 'Support'")
        secret, sale = self.id_of("code", "name = 'Secret'"), self.id_of("code", "name = 'Sale'")
        h2, s2 = (self.id_of("session", f"external_id = '{i}'") for i in ("h-2", "s-2"))
        mia, bob, alice = self.role["mia"], self.role["bob"], self.role["alice"]
        hash64 = "repeat('a', 64)"

        def conclusion(session, user, code, via="NULL"):
            return (f"BEGIN; INSERT INTO conclusion VALUES ({session}, 1, '{user}', {via}, 0, 1, 0); "
                    f"INSERT INTO conclusion_code VALUES ({session}, 1, {code}, 'primary', "
                    f"(SELECT name FROM code WHERE id = {code})); INSERT INTO ledger_pending "
                    f"(kind, record_id, record_hash) VALUES ('conclusion', {session}, {hash64}); COMMIT")

        def tagged(session, user, tag):
            return (f"BEGIN; INSERT INTO conclusion VALUES ({session}, 1, '{user}', NULL, 0, 0, 1); "
                    f"INSERT INTO conclusion_tag VALUES ({session}, 1, {tag}, {tag}); INSERT INTO ledger_pending "
                    f"(kind, record_id, record_hash) VALUES ('conclusion', {session}, {hash64}); COMMIT")

        # bob's own session, in a service whose agents may not conclude now.
        self.as_person("alice")
        self.run_ok("extension", "disable", "Support", "codes-and-tags")

        # Each statement fails, or finds no row it may touch; the store is as it was.
        attempts = {
            "bob": [conclusion(s2, bob, sale)],
            "mia": [
                "UPDATE service SET license = 'basic-routing'",
                conclusion(s2, bob, sale),                      # in bob's name
                conclusion(s2, mia, sale),                      # bob's session, her name
                conclusion(h2, mia, secret),                    # a code her service does not offer
                conclusion(h2, bob, sale, via=f"'{mia}'"),      # acting as another
                tagged(h2, mia, "E'vip\\x01'"),                 # a control character
                tagged(h2, mia, "' vip'"),                        # not trimmed
                f"INSERT INTO audit (at, \"user\", action, target) VALUES ('2026-11-26T09:00:00Z', '{alice}', "
                "'code.create', 'code id:9')",
                f"INSERT INTO audit (at, \"user\", action, target) VALUES ('2026-11-26T09:00:00Z', '{mia}', "
                "'code.create', 'code id:9')",                  # her name, a change she may not make
                f"INSERT INTO ou (parent_id, name, path, path_key, created_at) VALUES (1, 'X', 'Contoso/X', "
                "'contoso/x', 't')",
                "INSERT INTO code (type, name, name_key, ou_id, created_at) VALUES ('primary', 'X', 'x', 1, 't')",
                "UPDATE code SET description = 'changed'",
                "INSERT INTO service (name, name_key, ou_id, license, created_at) VALUES ('X', 'x', 1, "
                "'contact-center', 't')",
                f"INSERT INTO service_code VALUES ({hotline}, 'primary', 2, {secret})",
                "DELETE FROM service_code", "DELETE FROM service_extension",
                f"INSERT INTO service_extension VALUES ({hotline}, 'session-details')",
                f"INSERT INTO session (external_id, service_id, \"user\", direction, started_at) VALUES "
                f"('x-1', {hotline}, '{mia}', 'inbound', 1)",
                "UPDATE session SET caller = 'changed'",
                f"INSERT INTO ledger (position, kind, record_id, record_hash, chain_hash) SELECT max(position) + 1, "
                f"'audit', 1, {hash64}, {hash64} FROM ledger",
                f"INSERT INTO ledger_pending (kind, record_id, record_hash) VALUES ('audit', 1, {hash64})",
                f"INSERT INTO person VALUES ('{self.role[OUTSIDER]}', 'Eve', '', true)",
                f"UPDATE person SET tenant_admin = true WHERE login = '{mia}'",
                "DELETE FROM person_grant", "DELETE FROM person",
                "UPDATE role_rule SET roles = 127", "INSERT INTO role_rule VALUES ('x', 1, '{}')",
                f"SET ROLE {self.role['owner']}",
            ],
            "sue": [conclusion(h2, self.role["sue"], sale), "UPDATE service SET license = 'basic-routing'",
                    f"INSERT INTO service_code VALUES ({hotline}, 'primary', 2, {secret})"],
            "olga": ["UPDATE service SET license = 'basic-routing'", "UPDATE service SET name = 'Mine'",
                     f"INSERT INTO service_code VALUES ({support}, 'primary', 2, {secret})",
                     f"DELETE FROM service_code WHERE service_id = {support}",
                     f"INSERT INTO session (external_id, service_id, \"user\", direction, started_at) VALUES "
                     f"('x-1', {support}, '{bob}', 'inbound', 1)",
                     f"INSERT INTO person VALUES ('{self.role[OUTSIDER]}', 'Eve', '', true)"],
            "sam": [f"UPDATE service SET license = 'basic-routing' WHERE id = {support}",
                    "INSERT INTO code (type, name, name_key, ou_id, created_at) VALUES ('primary', 'X', 'x', 1, 't')"],
            OUTSIDER: [conclusion(h2, self.role[OUTSIDER], sale),
                       f"INSERT INTO session (external_id, service_id, \"user\", direction, started_at) VALUES "
                       f"('x-1', {hotline}, '{self.role[OUTSIDER]}', 'inbound', 1)",
                       "UPDATE code SET description = 'changed'"],
        }
        before = self.rows_dumped()
        for name, statements in attempts.items():
            for statement in statements:
                done = self.sql(name, statement)
                if done.returncode != 0:
                    self.assertRegex(done.stderr, "row-level security|permission denied|must be",
                                     f"{name}: {statement}")
        self.assertEqual(self.rows_dumped(), before)
        # The forgeries the role table is about are refused outright, not just filtered.
        for name, statement in (("mia", conclusion(s2, bob, sale)), ("mia", attempts["mia"][7]),
                                ("bob", conclusion(s2, bob, sale)), ("mia", tagged(h2, mia, "' vip'")),
                                ("mia", "UPDATE role_rule SET roles = 127"),
                                ("sue", attempts["sue"][0])):
            self.assertNotEqual(self.sql(name, statement).returncode, 0, statement)

        # What each role reads: its services' sessions, its own audit records.
        self.assertEqual(self.value("mia", "SELECT string_agg(external_id, ',' ORDER BY external_id) "
                                           "FROM session"), "h-1,h-2,h-3")
        self.assertEqual(self.value("bob", "SELECT string_agg(external_id, ',' ORDER BY external_id) "
                                           "FROM session"), "s-1,s-2")
        self.assertEqual(self.value("sue", "SELECT count(*) FROM session"), "3")
        self.assertEqual(self.value(OUTSIDER, "SELECT count(*) FROM session"), "0")
        self.assertEqual(self.value("mia", "SELECT count(*) FROM audit"), "0")
        self.assertEqual(self.value(OUTSIDER, "SELECT count(*) FROM audit"), "0")
        self.assertNotEqual(self.value("alice", "SELECT count(*) FROM audit"), "0")
        # The same conclusion with a clean tag is hers to write, even with psql: the
        # tag's rule was what refused the two above.
        done = self.sql("mia", tagged(h2, mia, "'vip'"))
        self.assertEqual(done.returncode, 0, done.stderr)
        # And what the tool does for them still works.
        self.as_person("mia")
        self.run_ok("session", "conclude", "h-3", "--primary", "Sale")

    def test_the_directory_is_read_through_sessions_and_written_by_its_admins(self):
        self.as_person("alice")
        callers = os.path.join(self.sandbox.dir, "callers.csv")
        with open(callers, "w") as f:
            f.write("number,name,company\n044 668 18 00,Anna Muster,Muster AG\n")
        self.run_ok("directory", "import", callers, "--country", "CH")
        sales = os.path.join(self.sandbox.dir, "sales.csv")
        with open(sales, "w") as f:
            f.write("number,name\n044 668 18 01,Sales' Beat\n")
        self.as_person("sam")  # an OU admin: Contoso/Sales, not the tenant's directory
        self.assert_fails(77, "directory", "import", callers)
        self.run_ok("directory", "import", sales, "--ou", "Contoso/Sales", "--country", "CH")
        count = "SELECT count(*) FROM directory_entry"
        self.assertEqual(self.value("sam", count), "1")
        # Agents, owners and supervisors read no directory on such a server,
        # whatever their services show: psql would hand them the whole export.
        self.as_person("olga")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        for person in ("mia", "olga", "sue", "bob"):
            self.assertEqual(self.value(person, count), "0", person)
            self.assertEqual(self.value(person, "SELECT count(*) FROM directory"), "0", person)
        self.run_ok("session", "add", "--id", "h-9", "--service", "Hotline", "--user", self.role["mia"],
                    "--started-at", "2026-11-26T09:00:00Z", "--caller", "044 668 18 00")
        # They see the callers of the sessions they may read, and only those: the
        # nearest directory that knows the caller (the tenant's; Sales' does not).
        self.as_person("mia")
        row = next(line for line in self.run_ok("session", "list").out.splitlines() if line.startswith("h-9"))
        self.assertIn("Anna Muster, Muster AG", row)
        self.assertEqual(self.json_ok("session", "show", "h-9")["directory"]["number"], "+41446681800")
        callers = "SELECT string_agg(name, ',') FROM session_caller"
        self.assertEqual(self.value("mia", callers), "Anna Muster")
        self.assertEqual(self.value("sue", callers), "Anna Muster")
        self.assertEqual(self.value("bob", callers), "")
        self.assertEqual(self.value("mia", "SELECT count(*) FROM caller_number"), "1")
        self.assertEqual(self.value("bob", "SELECT count(*) FROM caller_number"), "0")
        # Neither the session's agent nor its owner can point a caller at another entry.
        before = self.rows_dumped()
        for person, statement in (
                ("mia", "INSERT INTO caller_number VALUES ('044 668 18 00', 'DE', '+41446681801')"),
                ("mia", "UPDATE caller_number SET number = '+41446681801'"),
                ("olga", "UPDATE caller_number SET number = '+41446681801'"),
                ("olga", "DELETE FROM caller_number"),
                ("olga", "INSERT INTO caller_number VALUES ('044 668 18 01', 'CH', '+41446681801')")):
            done = self.sql(person, statement)
            self.assertTrue(done.returncode != 0 or done.stdout.strip() == "", (person, statement))
        self.assertEqual(self.rows_dumped(), before)
        # Where the service does not show callers, the store does not either.
        self.as_person("olga")
        self.run_ok("extension", "disable", "Hotline", "caller-information")
        self.assertEqual(self.value("mia", callers), "")
        self.as_person("mia")
        self.assertNotIn("Muster", self.run_ok("session", "list").out)
        self.as_person("olga")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        self.as_person("alice")  # who may read the directory sees the caller
        self.assertEqual(self.json_ok("session", "show", "h-9")["directory"]["name"], "Anna Muster")
        # Nobody but its admins writes it, whatever psql sends.
        before = self.rows_dumped()
        for person, statement in (
                ("mia", "DELETE FROM directory_entry"),
                ("mia", "UPDATE directory_entry SET name = 'Mallory'"),
                ("mia", "INSERT INTO directory_entry SELECT ou_id, '+41799999999', 'x', '', '', '', '{}' "
                        "FROM directory LIMIT 1"),
                ("sam", "UPDATE directory_entry SET name = 'Mallory' WHERE name = 'Anna Muster'"),
                ("olga", "DELETE FROM directory")):
            done = self.sql(person, statement)
            self.assertTrue(done.returncode != 0 or done.stdout.strip() == "", (person, statement))
        self.assertEqual(self.rows_dumped(), before)

    def test_the_sweep_is_a_tenant_admins_and_its_mark_theirs_alone(self):
        self.as_person("olga")  # an owner sets the policy of her service ...
        self.run_ok("service", "wrap-up", "Hotline", "--deadline", "1h", "--default-primary", "Sale",
                    env={"NIMBUS_CODES_NOW": "2026-11-26T07:00:00Z"})
        self.assert_fails(77, "session", "sweep")  # ... but concludes nothing in agents' names
        self.as_person("mia")
        self.run_ok("session", "conclude", "h-1", "--primary", "Sale")
        h1 = self.id_of("session", "external_id = 'h-1'")
        before = self.rows_dumped()
        for person in ("mia", "olga"):
            done = self.sql(person, f"INSERT INTO conclusion_default VALUES ({h1}, 0)")
            self.assertNotEqual(done.returncode, 0, person)
        self.assertEqual(self.rows_dumped(), before)
        self.as_person("alice")
        swept = self.json_ok("session", "sweep")
        self.assertEqual(sorted(s["id"] for s in swept), ["h-2", "h-3"])
        shown = self.json_ok("session", "show", "h-2")
        self.assertEqual((shown["concluded_by"], shown["via"], shown["by_default"]),
                         (self.role["mia"], self.role["alice"], "2026-11-26T09:05:00Z"))
        self.as_person("mia")  # the agent reads her swept sessions' marks
        self.assertEqual(self.json_ok("session", "show", "h-3")["by_default"], "2026-11-26T09:05:00Z")

    def test_services_and_ous_are_retired_and_deleted_by_their_admins_alone(self):
        self.as_person("sam")
        self.run_ok("ou", "create", "Contoso/Sales/Typo")
        self.run_ok("service", "create", "Typo", "--ou", "Contoso/Sales", "--license", "basic-routing")
        self.as_person("olga")  # the owner of Hotline retires nothing
        self.assert_fails(77, "service", "retire", "Hotline")
        before = self.rows_dumped()
        hotline = self.id_of("service", "name = 'Hotline'")
        for person, statement in (
                ("olga", f"INSERT INTO service_retired VALUES ({hotline}, '2026-11-26T09:30:00Z')"),
                ("mia", "DELETE FROM service WHERE name = 'Typo'"),
                ("olga", "DELETE FROM ou WHERE path = 'Contoso/Sales/Typo'"),
                ("sam", "DELETE FROM ou WHERE path = 'Contoso/Sales'"),
                ("sam", "DELETE FROM service WHERE name = 'Hotline'")):
            done = self.sql(person, statement)
            self.assertTrue(done.returncode != 0 or done.stdout.strip() == "", (person, statement))
        self.assertEqual(self.rows_dumped(), before)
        self.as_person("sam")  # the OU admin retires, restores and deletes below his OU
        self.run_ok("service", "retire", "Hotline")
        self.assertEqual(self.json_ok("service", "list"), [
            row for row in self.json_ok("service", "list", "--include-retired") if row["name"] != "Hotline"])
        self.run_ok("service", "restore", "Hotline")
        self.run_ok("service", "delete", "Typo")
        self.run_ok("ou", "delete", "Contoso/Sales/Typo")
        self.assert_fails(77, "ou", "retire", "Contoso/Sales")
        self.assertEqual(self.audit_actions()[-4:],
                         ["service.retire", "service.restore", "service.delete", "ou.delete"])

    def test_context_is_defined_by_admins_and_read_with_its_sessions(self):
        self.as_person("olga")  # an owner: not an admin of any OU
        self.assert_fails(77, "context", "define", "Reason", "--type", "choice", "--values", "A,B",
                          "--ou", "Contoso/Sales")
        self.as_person("sam")
        self.run_ok("context", "define", "Reason", "--type", "choice", "--values", "A,B", "--ou", "Contoso/Sales")
        self.as_person("olga")
        self.run_ok("extension", "enable", "Hotline", "conversation-context")
        self.run_ok("session", "add", "--id", "h-8", "--service", "Hotline", "--user", self.role["mia"],
                    "--started-at", "2026-11-26T09:00:00Z", "--context", "Reason=a")
        self.as_person("mia")
        self.assertEqual(self.json_ok("session", "show", "h-8")["context"], {"Reason": "A"})
        # bob reads no context of sessions he may not see.
        self.assertEqual(self.value("bob", "SELECT count(*) FROM session_context"), "0")
        self.assertEqual(self.value("mia", "SELECT count(*) FROM session_context"), "1")
        before = self.rows_dumped()
        for person, statement in (
                ("mia", "UPDATE session_context SET value = 'B'"),
                ("mia", "DELETE FROM session_context"),
                ("mia", "INSERT INTO session_context SELECT s.id, f.id, 'B' FROM session s, context_field f "
                        "WHERE s.external_id = 'h-1'"),
                ("mia", "UPDATE context_field SET choices = '[\"A\"]'"),
                ("olga", "DELETE FROM context_field"),
                ("olga", "INSERT INTO context_field (ou_id, name, name_key, type, choices, description) "
                         "SELECT id, 'X', 'x', 'text', '[]', '' FROM ou LIMIT 1")):
            done = self.sql(person, statement)
            self.assertTrue(done.returncode != 0 or done.stdout.strip() == "", (person, statement))
        self.assertEqual(self.rows_dumped(), before)

    def test_a_psql_conclusion_needs_its_ledger_entry(self):
        h2 = self.id_of("session", "external_id = 'h-2'")
        mia = self.role["mia"]
        done = self.sql("mia", f"BEGIN; INSERT INTO conclusion VALUES ({h2}, 1, '{mia}', NULL, 0, 0, 1); "
                               f"INSERT INTO conclusion_tag VALUES ({h2}, 1, 'x', 'x'); "
                               "SET CONSTRAINTS ALL IMMEDIATE; COMMIT")
        self.assertIn("a permanent record is written with its ledger entry", done.stderr)
        self.assertEqual(self.value("owner", f"SELECT count(*) FROM conclusion WHERE session_id = {h2}"), "0")

    @contextlib.contextmanager
    def held(self, name, statements, granted_locks):
        """psql as a person's role runs `statements` in a transaction that stays
        open until the block ends (then rolls back), once `granted_locks`
        advisory locks are held."""
        hold = subprocess.Popen(
            [POSTGRESQL.psql_binary, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
             self.base.format(self.role[name])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, **self.sandbox.env))
        hold.stdin.write(f"BEGIN; {statements}\n")
        hold.stdin.flush()
        deadline = time.monotonic() + COMMAND
        try:
            while self.value("owner", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                      "AND granted") != str(granted_locks):
                self.assertLess(time.monotonic(), deadline, "the transaction did not start")
                self.assertIsNone(hold.poll(), hold.stderr.read() if hold.poll() is not None else "")
                time.sleep(0.05)
            yield hold
        finally:
            hold.communicate("ROLLBACK;\n", timeout=COMMAND)

    def assert_writes_at_once(self, name, *args, **kwargs):
        self.as_person(name)
        started = time.monotonic()
        done = self.run_ok(*args, **kwargs)
        self.assertLess(time.monotonic() - started, BUSY_TIMEOUT, args)
        return done

    def test_no_open_transaction_holds_up_the_writers(self):
        # mia takes the writers' lock, the chaining lock and a pending entry,
        # and keeps them.
        with self.held("mia", f"SELECT pg_advisory_xact_lock({WRITERS_LOCK}); "
                              f"SELECT pg_advisory_xact_lock({CHAINING_LOCK}); "
                              "SELECT nimbus_chain_pending();", 2):
            self.assert_writes_at_once("bob", "session", "conclude", "s-1", "--primary", "Sale")
            self.as_person("olga")
            self.import_sessions("mia", "Hotline", ["h-4"])
            self.as_person("alice")
            shown = self.run_ok("verify", "--format", "json")
            self.assertEqual(shown.json()["ledger"], "ok")
            self.assertIn("records are not chained yet", shown.err)
        # The next write chains what waited.
        self.as_person("mia")
        self.run_ok("session", "conclude", "h-1", "--primary", "Sale")
        self.as_person("alice")
        shown = self.run_ok("verify", "--format", "json")
        self.assertEqual(shown.json()["ledger"], "ok")
        self.assertNotIn("not chained", shown.err)
        self.assertEqual(self.value("owner", "SELECT count(*) FROM ledger_pending"), "0")

    def assert_reports_are_recounts(self):
        self.as_person("alice")
        for by in ("code", "day,service,code", "concluded-by,type", "tag", "service"):
            args = ("report", "usage", "--month", "2026-11", "--by", by, "--format", "csv")
            kept = self.run_ok(*args)
            self.assertEqual(kept.out, self.run_ok(*args, "--recount").out, by)
        return self.run_ok("report", "usage", "--month", "2026-11", "--by", "service,code",
                           "--format", "csv").out

    def test_no_open_transaction_holds_up_the_writers_through_the_rollups(self):
        settled = "SELECT (SELECT session_id FROM usage_settled) = (SELECT max(id) FROM session)"
        pending = ("SELECT (SELECT count(*) FROM usage_sessions WHERE pending <> 0) + "
                   "(SELECT count(*) FROM usage_codes WHERE pending <> 0) + "
                   "(SELECT count(*) FROM usage_tags WHERE pending <> 0)")
        self.assertEqual(self.value("owner", settled), "t")
        h2 = self.id_of("session", "external_id = 'h-2'")
        sale = self.id_of("code", "name = 'Sale'")
        mia = self.role["mia"]
        # mia concludes h-2 by hand and keeps the transaction open: its counts
        # are in the same hour and day of Hotline as h-1's.
        with self.held("mia", f"INSERT INTO conclusion VALUES ({h2}, 1, '{mia}', NULL, 0, 1, 1); "
                              f"INSERT INTO conclusion_code VALUES ({h2}, 1, {sale}, 'primary', 'Sale'); "
                              f"INSERT INTO conclusion_tag VALUES ({h2}, 1, 'Late', 'late'); "
                              f"SELECT pg_advisory_xact_lock({WRITERS_LOCK});", 1):
            self.assert_writes_at_once("mia", "session", "conclude", "h-1", "--primary", "Sale", "--tag", "late")
            self.as_person("olga")
            self.import_sessions("mia", "Hotline", ["h-4"])
            # Folded and settled after each commit all the same.
            self.assertEqual(self.value("owner", pending), "0")
            self.assertEqual(self.value("owner", settled), "t")
        # Someone keeps folding from happening: the changes wait, the reports count them.
        with self.held("bob", f"SELECT pg_advisory_xact_lock({FOLDING_LOCK});", 1):
            self.assert_writes_at_once("bob", "session", "conclude", "s-1", "--primary", "Sale", "--tag", "LATE")
            self.assert_writes_at_once("mia", "session", "conclude", "h-3", "--primary", "Sale")
            self.as_person("olga")
            self.import_sessions("mia", "Hotline", ["h-5", "h-6"])
            self.assertNotEqual(self.value("owner", pending), "0")
            self.assertEqual(self.value("owner", settled), "f")
            waiting = self.assert_reports_are_recounts()
            self.assertIn("Hotline,", waiting)
        # The next write folds and settles what waited, and the reports read the same.
        self.assert_writes_at_once("mia", "session", "conclude", "h-4", "--primary", "Sale")
        self.assertEqual(self.value("owner", pending), "0")
        self.assertEqual(self.value("owner", settled), "t")
        folded = self.assert_reports_are_recounts()
        self.assertEqual(folded.count("\n"), waiting.count("\n"))
        # Not even the tool's own settling in a transaction of one's own moves the mark
        # past sessions another writer may still be adding.
        self.as_person("olga")
        self.import_sessions("mia", "Hotline", ["h-7"])
        with self.held("bob", f"SELECT pg_advisory_xact_lock({FOLDING_LOCK});", 1):
            self.import_sessions("mia", "Hotline", ["h-8"])
        done = self.sql("mia", "BEGIN; SELECT nimbus_usage_settle(); COMMIT")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.value("owner", settled), "f")
        # A call alone in its hour and day, settled, then deleted by the owner: its
        # buckets' rows go when the change is folded in.
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin="id,service,user,direction,started_at,ended_at,outcome,caller\n"
                          f"h-9,Hotline,{mia},inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,\n")
        self.assertEqual(self.value("owner", settled), "t")
        done = self.sql("owner", "DELETE FROM session WHERE external_id = 'h-9'")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertNotEqual(self.value("owner", pending), "0")
        self.assert_reports_are_recounts()
        self.assert_writes_at_once("mia", "session", "conclude", "h-5", "--primary", "Sale")
        self.assertEqual(self.value("owner", pending), "0")
        gone = "SELECT count(*) FROM usage_sessions WHERE bucket IN (1795132800, 1795161600) OR total = 0"
        self.assertEqual(self.value("owner", gone), "0")
        self.assert_reports_are_recounts()

    def test_racing_concluders_from_four_roles_leave_one_conclusion(self):
        self.write_roster(PEOPLE)
        names = ["mia", "olga", "sam", "alice"] * 4

        def conclude(name):
            env = dict(self.sandbox.env, NIMBUS_CODES_STORE=self.base.format(self.role[name]))
            args = ["--as", self.role["mia"]] if name == "alice" else []
            return self.sandbox.run(*args, "session", "conclude", "h-3", "--primary", "Sale", env=env,
                                    timeout=COMMAND * 4)

        with ThreadPoolExecutor(len(names)) as pool:
            results = list(pool.map(conclude, names))
        codes = sorted(r.code for r in results)
        self.assertEqual(codes, [0] + [4] * (len(names) - 1), results)
        self.as_person("alice")
        self.assertEqual(self.json_ok("verify")["ledger"], "ok")

    def test_identity_push_is_for_tenant_admins_and_audited(self):
        self.as_person("olga")
        self.assert_fails(77, "identity", "push", self.roster)
        self.write_roster({**PEOPLE, OUTSIDER: {"name": "Eve New", "member": ["Support"]}})
        self.as_person("alice")
        pushed = self.json_ok("identity", "push", self.roster)
        self.assertEqual((pushed["users"], pushed["added"], pushed["removed"]), (7, 1, 0))
        self.as_person(OUTSIDER)
        self.assertEqual(self.json_ok("whoami")["member"], ["Support"])
        # A roster without a tenant admin is refused, and changes nothing.
        self.write_roster({name: dict(fields, tenant_admin=False) for name, fields in PEOPLE.items()})
        self.as_person("alice")
        self.assert_fails(65, "identity", "push", self.roster, stderr="names no tenant admin")
        self.assertEqual(self.value("owner", "SELECT count(*) FROM person WHERE tenant_admin"), "1")
        last = self.json_ok("audit", "list")[-1]
        self.assertEqual((last["action"], last["user"]), ("identity.push", self.role["alice"]))

    def test_a_role_table_of_another_version_is_refused_until_init(self):
        done = self.sql("owner", "UPDATE role_rule SET roles = 127 WHERE action = 'read-audit'")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.as_person("mia")
        self.assert_fails(78, "session", "list", stderr="enforces another version's role table")
        self.as_person("owner")
        self.run_ok("init")
        self.as_person("mia")
        self.run_ok("session", "list")
        self.assert_fails(77, "audit", "list")

    def test_a_store_copied_to_the_server_takes_a_roster(self):
        # A team moves from SQLite, then gives each person a role of their own.
        source = os.path.join(self.sandbox.dir, "team.db")
        self.sandbox.use_store(source)
        self.init_hotline()
        self.import_calls(["c-1"])
        POSTGRESQL.psql(f"CREATE DATABASE {self.db}_moved OWNER {self.role['owner']}")
        self.addCleanup(POSTGRESQL.drop_database, f"{self.db}_moved")
        moved = self.base.format(self.role["owner"]) + "_moved"
        self.run_ok("store", "copy", "--from", source, "--to", moved)
        self.grant(f"{self.db}_moved")
        self.sandbox.use_store(moved)
        self.run_ok("identity", "push", self.roster)
        self.sandbox.use_store(self.base.format(self.role["sue"]) + "_moved")
        self.assertEqual([s["id"] for s in self.json_ok("session", "list")], ["c-1"])

    def test_a_store_that_enforces_a_roster_is_not_copied(self):
        self.as_person("alice")
        copy = os.path.join(self.sandbox.dir, "copy.db")
        # store copy names its stores: the caller's identity file (its runner a tenant admin) decides.
        self.assert_fails(78, "store", "copy", "--from", self.sandbox.store, "--to", copy,
                          stderr="its writers take no lock that a copy could hold")
        self.assertFalse(os.path.exists(copy))


@sqlite_only("a SQLite store has no database roles")
class SqliteRosterTest(NimbusTestCase):

    def test_identity_push_is_a_usage_error(self):
        self.init_store()
        self.assert_fails(64, "identity", "push", self.sandbox.identity, stderr="a SQLite store keeps no roster")


if __name__ == "__main__":
    main()
