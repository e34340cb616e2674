"""Permanent records against raw SQL: every statement that would delete,
re-key or detach a row that a conclusion or an audit record stands on is
refused, through the sqlite3 shell with foreign keys off (its default), and
through psql as the application role and as the owner. docs/sessions.md lists
the same statements."""

import os
import shutil
import subprocess
import urllib.parse
import uuid

from harness import COMMAND, ENGINE, NimbusTestCase, POSTGRESQL, ROOT, main, postgresql_only, sqlite_only

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"

# Each statement, in SQLite's words and PostgreSQL's (None: that engine has no
# such statement; PostgreSQL has no REPLACE, its unique keys refuse instead).
# {concluded} is the id of the concluded session s-m1.
GUARDED = [
    ("UPDATE OR REPLACE session SET external_id = 's-m1' WHERE external_id = 's-m2'",
     "UPDATE session SET external_id = 's-m9' WHERE external_id = 's-m1'"),
    ("UPDATE OR REPLACE session SET id = {concluded} WHERE external_id = 's-m2'",
     "UPDATE session SET id = id + 1000 WHERE external_id = 's-m1'"),
    ("UPDATE session SET id = id + 1000", "UPDATE session SET id = id + 1000"),
    # A session keeps its service: its key is the service and the id. Outbound's
    # s-m1 moved to Hotline would REPLACE (delete) the concluded one.
    ("UPDATE OR REPLACE session SET service_id = (SELECT service_id FROM session WHERE id = {concluded}) "
     "WHERE external_id = 's-m1' AND id <> {concluded}",
     "UPDATE session SET service_id = (SELECT id FROM service WHERE name = 'Outbound') "
     "WHERE external_id = 's-m2'"),
    ("INSERT OR REPLACE INTO session (id, external_id, service_id, user, direction, started_at) "
     "VALUES ({concluded}, 's-new', 1, 'bob', 'inbound', 0)", None),
    ("DELETE FROM service", "DELETE FROM service"),
    ("UPDATE service SET id = 999", "UPDATE service SET id = 999"),
    ("UPDATE service SET ou_id = 999", "UPDATE service SET ou_id = 999"),
    ("UPDATE service SET ou_id = 1", "UPDATE service SET ou_id = 1"),
    ("UPDATE OR REPLACE service SET name_key = 'hotline' WHERE name = 'Outbound'",
     "UPDATE service SET name_key = 'hotline' WHERE name = 'Outbound'"),
    ("INSERT OR REPLACE INTO service (id, name, name_key, ou_id, license, created_at) "
     "VALUES (1, 'Hotline', 'hotline', 1, 'basic-routing', '')", None),
    (None, "TRUNCATE service CASCADE"),
    ("DELETE FROM ou", "DELETE FROM ou"),
    ("DELETE FROM ou WHERE parent_id IS NOT NULL", "DELETE FROM ou WHERE parent_id IS NOT NULL"),
    ("UPDATE ou SET id = id + 1000", "UPDATE ou SET id = id + 1000"),
    ("UPDATE ou SET parent_id = NULL WHERE parent_id IS NOT NULL",
     "UPDATE ou SET parent_id = NULL WHERE parent_id IS NOT NULL"),
    ("UPDATE ou SET path = 'Elsewhere', path_key = 'elsewhere' WHERE parent_id IS NOT NULL",
     "UPDATE ou SET path = 'Elsewhere', path_key = 'elsewhere' WHERE parent_id IS NOT NULL"),
    ("INSERT OR REPLACE INTO ou (id, parent_id, name, path, path_key, created_at) "
     "VALUES (1, NULL, 'Mallory', 'Mallory', 'mallory', '')", None),
    (None, "TRUNCATE ou CASCADE"),
    ("UPDATE OR REPLACE code SET name_key = 'sale', ou_id = 1 WHERE name = 'No sale'",
     "UPDATE code SET name_key = 'sale', ou_id = 1 WHERE name = 'No sale'"),
    ("UPDATE code SET id = id + 1000", "UPDATE code SET id = id + 1000"),
    ("UPDATE code SET type = 'secondary' WHERE name = 'Sale'",
     "UPDATE code SET type = 'secondary' WHERE name = 'Sale'"),
    ("UPDATE code SET ou_id = 2 WHERE name = 'Sale'", "UPDATE code SET ou_id = 2 WHERE name = 'Sale'"),
    ("DELETE FROM code", "DELETE FROM code"),
]

# PostgreSQL: a temporary table must not stand in for a permanent one inside
# the trigger functions (pg_temp comes first on the search path unless named).
SEARCH_PATH = [
    "CREATE TEMP TABLE conclusion (session_id bigint); "
    "UPDATE public.session SET \"user\" = 'bob', started_at = started_at - 40 * 86400 WHERE id = {concluded}",
    "CREATE TEMP TABLE conclusion (session_id bigint, code_count bigint, tag_count bigint); "
    "INSERT INTO conclusion VALUES ({concluded}, 99, 99); "
    "INSERT INTO public.conclusion_tag VALUES ({concluded}, 2, 'extra', 'extra')",
    # Times added to a concluded call (schema 12's trigger reads conclusion and session).
    "CREATE TEMP TABLE conclusion (session_id bigint); "
    "INSERT INTO public.session_times VALUES ({concluded}, 5, 5)",
]


class PermanenceCases:
    def make_records(self):
        """Hotline and Outbound in Contoso/Sales; Hotline's s-m1 concluded, s-m2
        open; Outbound's s-m1 (alice's) open."""
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("code", "create", "--type", "primary", "--name", "No sale"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "create", "Outbound", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale,No sale"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
        ):
            self.run_ok(*command)
        rows = (HEADER + "s-m1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,\n"
                + "s-m2,Hotline,mia,inbound,2026-11-21T08:00:00Z,2026-11-21T08:05:00Z,accepted,\n"
                + "s-m1,Outbound,alice,inbound,2026-11-22T08:00:00Z,2026-11-22T08:05:00Z,accepted,\n")
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=rows)
        self.run_ok("session", "conclude", "s-m1", "--primary", "Sale", "--tag", "vip", "--as", "mia")

    def what_people_see(self):
        """What the records look like through the tool."""
        return (self.run_ok("session", "show", "Hotline/s-m1", "--format", "json").out,
                self.run_ok("session", "list", "--format", "json").out,
                self.run_ok("report", "usage", "--month", "2026-11", "--by", "service,code", "--format", "csv").out,
                self.run_ok("code", "list", "--include-deleted", "--format", "json").out)

    def assert_refused(self, run, statement, label):
        before, seen = self.sandbox.dump(), self.what_people_see()
        completed = run(statement)
        self.assertNotEqual(completed.returncode, 0, f"{label}: {statement}\n{completed.stdout}")
        self.assertEqual(self.sandbox.dump(), before, f"{label}: {statement}")
        self.assertEqual(self.what_people_see(), seen, f"{label}: {statement}")


@sqlite_only("the sqlite3 shell; the PostgreSQL class runs psql")
class SqliteShellTest(PermanenceCases, NimbusTestCase):
    def test_the_sqlite3_shell_with_foreign_keys_off_is_refused(self):
        self.init_store()
        self.make_records()
        concluded = self.sandbox.count("SELECT id FROM session WHERE external_id = 's-m1' AND \"user\" = 'mia'")
        shell = shutil.which("sqlite3")
        self.assertIsNotNone(shell, "scripts/deps.sh test installs the sqlite3 shell")

        def run(statement):
            return subprocess.run([shell, "-bail", self.sandbox.store, "PRAGMA foreign_keys = OFF;",
                                   statement.format(concluded=concluded)],
                                  capture_output=True, text=True, timeout=COMMAND)

        for statement, _ in GUARDED:
            if statement is not None:
                self.assert_refused(run, statement, "sqlite3")
        # After every attempt: the conclusion is still the only one, and final.
        self.assert_fails(4, "session", "conclude", "s-m1", "--primary", "No sale", "--as", "mia",
                          stderr='session "s-m1" was concluded by mia')


@postgresql_only
class PsqlTest(PermanenceCases, NimbusTestCase):
    """As in docs/postgresql.md: an owner who ran init, and an application role
    with the grants of docs/examples/postgresql-grants.sql."""

    def setUp(self):
        super().setUp()
        suffix = uuid.uuid4().hex[:8]
        self.owner, self.app = f"nimbus_owner_{suffix}", f"nimbus_app_{suffix}"
        self.db = f"nimbus_permanence_{suffix}"
        passwords = {self.owner: os.urandom(9).hex(), self.app: os.urandom(9).hex()}
        for role, password in passwords.items():
            POSTGRESQL.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        POSTGRESQL.psql(f"CREATE DATABASE {self.db} OWNER {self.owner}")
        self.addCleanup(self.drop)
        server = urllib.parse.urlsplit(POSTGRESQL.uri)
        passfile = os.path.join(self.sandbox.dir, "pgpass")
        with open(passfile, "w") as f:
            for role, password in passwords.items():
                f.write(f"{server.hostname}:{server.port}:{self.db}:{role}:{password}\n")
        os.chmod(passfile, 0o600)
        self.sandbox.env["PGPASSFILE"] = passfile
        self.base = f"postgresql://{{}}@{server.hostname}:{server.port}/{self.db}"
        self.sandbox.use_store(self.base.format(self.owner))
        self.sandbox.databases.append(self.db)  # dump() and rows() read it as the admin
        self.init_store()
        with open(os.path.join(ROOT, "docs", "examples", "postgresql-grants.sql"), encoding="utf-8") as f:
            granted = self.as_role(self.owner, f.read().replace("nimbus_app", self.app))
        self.assertEqual(granted.returncode, 0, granted.stderr)
        self.sandbox.use_store(self.base.format(self.app))
        self.make_records()

    def drop(self):
        POSTGRESQL.psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)", check=False)
        for role in (self.owner, self.app):
            POSTGRESQL.psql(f"DROP ROLE IF EXISTS {role}", check=False)

    def as_role(self, role, sql):
        return subprocess.run([POSTGRESQL.psql_binary, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                               self.base.format(role), "-c", sql],
                              capture_output=True, text=True, timeout=COMMAND,
                              env=dict(os.environ, **self.sandbox.env))

    def test_psql_as_the_application_role_and_as_the_owner_is_refused(self):
        concluded = self.sandbox.count("SELECT id FROM session WHERE external_id = 's-m1' AND \"user\" = 'mia'")
        for role in (self.app, self.owner):
            for _, statement in GUARDED:
                if statement is not None:
                    self.assert_refused(lambda sql: self.as_role(role, sql.format(concluded=concluded)),
                                        statement, role)
        # What the owner may do and the application role may not is refused to
        # the owner by the store's own rules, not only by missing grants.
        refused = self.as_role(self.owner, "UPDATE service SET ou_id = 1")
        self.assertIn("a service keeps its id and OU", refused.stderr)

    def test_a_temporary_table_cannot_stand_in_for_a_permanent_one(self):
        concluded = self.sandbox.count("SELECT id FROM session WHERE external_id = 's-m1' AND \"user\" = 'mia'")
        for role in (self.app, self.owner):
            for statement in SEARCH_PATH:
                self.assert_refused(lambda sql: self.as_role(role, sql.format(concluded=concluded)),
                                    statement, role)
        shown = self.json_ok("session", "show", "Hotline/s-m1")
        self.assertEqual((shown["user"], shown["started_at"], shown["tags"]),
                         ("mia", "2026-11-20T08:00:00Z", ["vip"]))
        self.assertEqual(self.sandbox.count(f"SELECT count(*) FROM session_times WHERE session_id = {concluded}"), 0)


if __name__ == "__main__":
    main()
