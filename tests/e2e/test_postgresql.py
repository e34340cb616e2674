"""A store on PostgreSQL: opening it, its lock, its secrets and its roles.
Everything else runs on both engines in the other files."""

import os
import subprocess
import time
import urllib.parse

from harness import COMMAND, NimbusTestCase, POSTGRESQL, ROOT, main, postgresql_only

# The writers' lock: nimbus-codes' application id.
WRITERS_LOCK = 0x4E434453


class UriTest(NimbusTestCase):
    """Checked before any connection: run on both passes, no server needed."""

    def test_a_password_in_the_uri_is_refused_and_not_repeated(self):
        for uri in ("postgresql://nimbus:s3cret@db.example/nimbus",
                    "postgres://nimbus@db.example/nimbus?password=s3cret&sslmode=require"):
            result = self.assert_fails(64, "code", "list", "--store", uri, stderr="contains a password")
            self.assertIn("~/.pgpass", result.err)
            self.assertNotIn("s3cret", result.err)
            result = self.assert_fails(64, "init", "--tenant", "Contoso", env={"NIMBUS_CODES_STORE": uri})
            self.assertNotIn("s3cret", result.err)

    def test_a_malformed_uri_is_a_usage_error(self):
        self.assert_fails(64, "code", "list", "--store", "postgresql://nimbus@db.example/nimbus?sslmode",
                          stderr="cannot be read")

    def test_an_unreachable_server_is_named(self):
        started = time.monotonic()
        result = self.assert_fails(75, "code", "list", "--store", "postgresql://nimbus@127.0.0.1:1/nimbus",
                                   stderr="cannot reach PostgreSQL server 127.0.0.1:1")
        self.assertIn("Connection refused", result.err)
        self.assertLess(time.monotonic() - started, 30)

    def write_service_file(self, services):
        """A libpq service file in the sandbox, named by PGSERVICEFILE: {name: {option: value}}."""
        path = os.path.join(self.sandbox.dir, "pg_service.conf")
        with open(path, "w", encoding="utf-8") as f:
            for name, options in services.items():
                f.write(f"[{name}]\n" + "".join(f"{key}={value}\n" for key, value in options.items()))
        self.sandbox.env["PGSERVICEFILE"] = path

    def test_a_service_that_is_not_defined_is_a_configuration_error(self):
        # libpq looks services up when it connects, before it chooses a server:
        # retrying (75) could never mend it.
        self.write_service_file({"nimbus": {"host": "127.0.0.1", "port": "1", "dbname": "nimbus"}})
        for store in ("service=nimbus_typo", "postgresql:///?service=nimbus_typo"):
            result = self.assert_fails(78, "code", "list", "--store", store,
                                       stderr='definition of service "nimbus_typo" not found')
            self.assertIn("hint: define the service in ~/.pg_service.conf", result.err)
            self.assertNotIn("cannot reach", result.err)
        self.sandbox.env["PGSERVICEFILE"] = os.path.join(self.sandbox.dir, "missing.conf")
        self.assert_fails(78, "code", "list", "--store", "service=nimbus", stderr="missing.conf\" not found")
        # An option value libpq cannot use is the same kind of mistake.
        self.assert_fails(78, "code", "list", "--store", "postgresql://nimbus@127.0.0.1:1/nimbus?sslmode=bogus",
                          stderr='invalid sslmode value: "bogus"')


class Deadlocks:
    """A real deadlock with a writer, as often as wanted: this psql session
    holds the audit table in SHARE mode, so a writer stops at its audit record
    while it holds the writers' lock; the session then asks for that lock. The
    server breaks the cycle by failing the writer's transaction (this session
    waits a minute before it looks for deadlocks, the writer one second)."""

    def __init__(self, database):
        self.database = database
        self.deadlocks = 0
        self.psql = subprocess.Popen(
            [POSTGRESQL.psql_binary, "-X", "-A", "-t", "-q", "-d", f"{POSTGRESQL.admin} dbname={database}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = self.query("SET deadlock_timeout = '1min'; BEGIN; LOCK TABLE audit IN SHARE MODE; "
                              "SELECT pg_backend_pid();")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.psql.stdin.close()  # psql ends, and with it any transaction still open
        self.psql.wait(timeout=COMMAND)
        self.psql.stdout.close()

    def query(self, sql):
        self.psql.stdin.write(sql + "\n")
        self.psql.stdin.flush()
        return self.psql.stdout.readline().strip()

    def writer_waits(self, writer):
        """True once a writer waits for the audit table; False when it ended."""
        deadline = time.monotonic() + COMMAND
        while time.monotonic() < deadline:
            if writer.poll() is not None:
                return False
            waiting = POSTGRESQL.psql(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'audit'::regclass "
                f"AND pid <> {self.pid}", self.database).stdout.strip()
            if waiting != "0":
                return True
            time.sleep(0.02)
        raise AssertionError("the writer never reached the audit table")

    def deadlock(self, writer, times=None):
        """Deadlocks `writer` `times` times (every time, without a number), then
        lets it go on; gives its exit status and stderr once it has ended."""
        while (times is None or self.deadlocks < times) and self.writer_waits(writer):
            # Granted once the server has failed the writer's transaction.
            self.query(f"SELECT pg_advisory_lock({WRITERS_LOCK});")
            self.deadlocks += 1
            self.query(f"SELECT pg_advisory_unlock({WRITERS_LOCK});")
        self.psql.stdin.write("COMMIT;\n")
        self.psql.stdin.flush()
        writer.wait(timeout=COMMAND)
        with writer.stdout, writer.stderr:
            return writer.returncode, writer.stderr.read()


@postgresql_only
class PostgresqlStoreTest(NimbusTestCase):
    def database(self):
        return self.sandbox.store.rsplit("/", 1)[1]

    def test_an_empty_database_is_not_a_store_until_init(self):
        self.assert_fails(66, "code", "list", stderr="is not initialised")
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM information_schema.tables "
                                            "WHERE table_schema = 'public'"), 0)
        self.init_store()
        self.assertEqual(self.json_ok("ou", "list")[0]["path"], "Contoso")

    def test_a_database_not_encoded_in_utf8_is_refused(self):
        name = f"{self.database()}_ascii"
        POSTGRESQL.psql(f"CREATE DATABASE {name} OWNER nimbus ENCODING 'SQL_ASCII' TEMPLATE template0 LOCALE_PROVIDER libc LOCALE 'C'")
        self.sandbox.databases.append(name)
        self.assert_fails(78, "init", "--tenant", "Contoso", "--store", f"{POSTGRESQL.uri}/{name}",
                          stderr="is encoded in SQL_ASCII, not UTF8")
        self.assertEqual(POSTGRESQL.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                                         name).stdout.strip(), "0")

    def test_the_client_encoding_is_utf8_whatever_the_environment_says(self):
        self.init_store()
        self.run_ok("code", "create", "--type", "primary", "--name", "Rückruf ✓", env={"PGCLIENTENCODING": "LATIN1"})
        self.assertEqual(self.sandbox.rows("SELECT name FROM code"), [("Rückruf ✓",)])

    def test_a_store_named_by_a_service(self):
        uri = urllib.parse.urlsplit(POSTGRESQL.uri)
        path = os.path.join(self.sandbox.dir, "pg_service.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"[nimbus]\nhost={uri.hostname}\nport={uri.port}\nuser={uri.username}\n"
                    f"dbname={self.database()}\n")
        self.sandbox.env["PGSERVICEFILE"] = path
        self.run_ok("init", "--tenant", "Contoso", "--store", "service=nimbus")
        self.assertEqual(self.json_ok("ou", "list", "--store", "postgresql:///?service=nimbus")[0]["path"], "Contoso")
        self.assertEqual(self.json_ok("ou", "list")[0]["path"], "Contoso")

    def test_a_missing_database(self):
        result = self.assert_fails(66, "code", "list", "--store", POSTGRESQL.uri + "/no_such_store",
                                   stderr='database "no_such_store" does not exist')
        self.assertIn("createdb", result.err)

    def test_a_database_of_another_application_is_refused_untouched(self):
        POSTGRESQL.psql("CREATE TABLE notes (x text); INSERT INTO notes VALUES ('mine')", self.database(),
                        as_admin=False)
        for command in (["code", "list"], ["init", "--tenant", "Contoso"]):
            self.assert_fails(78, *command, stderr="PostgreSQL database of another application")
        self.assertEqual(self.sandbox.rows("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'public'"), [("notes",)])

    def test_a_newer_schema_is_refused_untouched(self):
        self.init_store()
        POSTGRESQL.psql("UPDATE nimbus_codes_store SET schema_version = 99", self.database())
        before = self.sandbox.rows("SELECT count(*) FROM audit")
        self.assert_fails(78, "code", "list", stderr="schema version 99, newer than")
        self.assert_fails(78, "init", stderr="upgrade nimbus-codes")
        self.assertEqual(self.sandbox.rows("SELECT schema_version FROM nimbus_codes_store"), [("99",)])
        self.assertEqual(self.sandbox.rows("SELECT count(*) FROM audit"), before)

    def test_a_writer_waits_for_the_lock_then_exits_75_and_readers_go_on(self):
        self.init_store()
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        holder = subprocess.Popen(
            [POSTGRESQL.psql_binary, "-X", "-A", "-t", "-q", "-d", f"{POSTGRESQL.admin} dbname={self.database()}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            holder.stdin.write(f"BEGIN; SELECT 'locked' FROM pg_advisory_xact_lock({WRITERS_LOCK});\n")
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            started = time.monotonic()
            result = self.assert_fails(75, "code", "create", "--type", "primary", "--name", "X",
                                       "--busy-timeout", "700", stderr="stayed locked by another process for 700 ms")
            self.assertIn(urllib.parse.urlsplit(POSTGRESQL.uri).netloc.split("@")[1], result.err)  # the host
            self.assertGreaterEqual(time.monotonic() - started, 0.6)
            self.assertEqual([c["name"] for c in self.json_ok("code", "list")], ["Sale"])
        finally:
            holder.stdin.write("ROLLBACK;\n")
            holder.stdin.close()
            holder.wait(timeout=COMMAND)
            holder.stdout.close()
        self.run_ok("code", "create", "--type", "primary", "--name", "X")

    def start(self, *args, stdin=""):
        """Starts nimbus-codes in the background, its standard input given."""
        process = subprocess.Popen(self.sandbox.command(*args), env=self.sandbox.environment(),
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        process.stdin.write(stdin)
        process.stdin.close()
        return process

    def test_a_deadlock_runs_the_command_again(self):
        self.init_store()
        with Deadlocks(self.database()) as deadlocks:
            code, stderr = deadlocks.deadlock(self.start("code", "create", "--type", "primary", "--name", "Sale"),
                                              times=2)
        self.assertEqual(code, 0, stderr)
        self.assertEqual(deadlocks.deadlocks, 2)
        self.assertEqual([c["name"] for c in self.json_ok("code", "list")], ["Sale"])
        self.assertEqual(self.audit_actions().count("code.create"), 1)

    def test_the_servers_notices_are_not_printed(self):
        self.init_store()
        # Every statement of this database's sessions now sends DEBUG notices.
        POSTGRESQL.psql(f"ALTER DATABASE {self.database()} SET client_min_messages = 'debug5'")
        result = self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        self.assertIn("DEBUG", POSTGRESQL.psql("SELECT 1", self.database(), as_admin=False).stderr)
        self.assertNotIn("DEBUG", result.err)

    def test_deadlocks_that_persist_exit_75_with_nothing_written(self):
        self.init_store()
        with Deadlocks(self.database()) as deadlocks:
            # Attempts go on for the busy timeout: a short one (still longer
            # than the server's one second before it looks for deadlocks).
            code, stderr = deadlocks.deadlock(self.start("code", "create", "--type", "primary", "--name", "Sale",
                                                         "--busy-timeout", "3000"))
        self.assertEqual(code, 75, stderr)
        self.assertIn("a concurrent transaction got in the way", stderr)
        # At least five attempts, and more while the busy timeout lasts.
        self.assertGreaterEqual(deadlocks.deadlocks, 5)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM code"), 0)

    def test_an_import_from_standard_input_is_not_run_twice(self):
        self.init_store()
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center")
        with Deadlocks(self.database()) as deadlocks:
            writer = self.start("session", "import", "-", "--input-format", "csv",
                                stdin="id,service,user,direction,started_at,ended_at,outcome,caller\n"
                                      "s-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n")
            code, stderr = deadlocks.deadlock(writer)
        self.assertEqual(code, 75, stderr)
        self.assertIn("a concurrent transaction got in the way", stderr)
        self.assertEqual(deadlocks.deadlocks, 1)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM session"), 0)

    def test_without_a_password_the_server_asks_for_one(self):
        empty = os.path.join(self.sandbox.dir, "empty-pgpass")
        open(empty, "w").close()
        os.chmod(empty, 0o600)
        result = self.assert_fails(78, "code", "list", env={"PGPASSFILE": empty},
                                   stderr='asks for a password for role "nimbus"')
        self.assertIn("~/.pgpass", result.err)

    def test_tls_options_pass_through_to_libpq(self):
        # The test server speaks no TLS: requiring it cannot work (78, not a
        # retry), allowing it without requiring it does.
        result = self.assert_fails(78, "code", "list", "--store", self.sandbox.store + "?sslmode=require",
                                   stderr="TLS settings")
        self.assertIn("server does not support SSL", result.err)
        self.init_store()
        self.run_ok("code", "list", "--store", self.sandbox.store + "?sslmode=prefer&application_name=hotline")

    def test_a_wrong_password_is_refused(self):
        server = urllib.parse.urlsplit(POSTGRESQL.uri)
        wrong = os.path.join(self.sandbox.dir, "wrong-pgpass")
        with open(wrong, "w") as f:
            f.write(f"{server.hostname}:{server.port}:*:nimbus:not-the-password\n")
        os.chmod(wrong, 0o600)
        self.assert_fails(78, "code", "list", env={"PGPASSFILE": wrong},
                          stderr='refused the password of role "nimbus"')


@postgresql_only
class RoleTest(NimbusTestCase):
    """docs/postgresql.md: an owner role for the schema, an application role for
    the daily commands, with no UPDATE, DELETE or TRUNCATE on the permanent tables."""

    def setUp(self):
        super().setUp()
        suffix = os.urandom(4).hex()
        self.owner, self.app = f"nimbus_owner_{suffix}", f"nimbus_app_{suffix}"
        self.db = f"nimbus_roles_{suffix}"
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

    def drop(self):
        POSTGRESQL.psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)", check=False)
        for role in (self.owner, self.app):
            POSTGRESQL.psql(f"DROP ROLE IF EXISTS {role}", check=False)

    def as_role(self, role, sql):
        return subprocess.run([POSTGRESQL.psql_binary, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                               self.base.format(role), "-c", sql],
                              capture_output=True, text=True, timeout=COMMAND, env=dict(os.environ, **self.sandbox.env))

    def test_the_application_role_runs_every_command_but_cannot_rewrite_history(self):
        self.sandbox.use_store(self.base.format(self.owner))
        self.run_ok("init", "--tenant", "Contoso")
        with open(os.path.join(ROOT, "docs", "examples", "postgresql-grants.sql"), encoding="utf-8") as f:
            grants = f.read().replace("nimbus_app", self.app)
        granted = self.as_role(self.owner, grants)
        self.assertEqual(granted.returncode, 0, granted.stderr)

        self.sandbox.use_store(self.base.format(self.app))
        csv = os.path.join(self.sandbox.dir, "sessions.csv")
        with open(csv, "w") as f:
            f.write("id,service,user,direction,started_at,ended_at,outcome,caller\n"
                    "r-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n"
                    "r-2,Hotline,mia,inbound,2026-11-26T08:10:00Z,2026-11-26T08:12:00Z,accepted,\n")
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("code", "create", "--type", "primary", "--name", "Old"),
            ("code", "edit", "Sale", "--description", "Bought"),
            ("code", "delete", "Old"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
            ("session", "import", csv),
            ("session", "conclude", "r-2", "--primary", "Sale", "--tag", "vip"),
            ("report", "usage", "--service", "Hotline", "--month", "2026-11"),
            ("audit", "list"),
            ("init",),
        ):
            self.run_ok(*command)
        self.assertEqual(self.json_ok("session", "show", "r-2")["codes"][0]["name"], "Sale")
        # The rollups were written by the owner's functions for the application role's
        # import and conclusion, and are the application role's to read only.
        self.assertEqual(self.as_role(self.app, "SELECT span, total, concluded FROM usage_sessions "
                                                "ORDER BY span").stdout.split(),
                         ["span", "|", "total", "|", "concluded", "-------+-------+-----------",
                          "3600", "|", "2", "|", "1", "86400", "|", "2", "|", "1", "(2", "rows)"])
        for statement in ('UPDATE conclusion SET "user" = \'mallory\'', "DELETE FROM conclusion_tag",
                          "TRUNCATE conclusion_code", "DELETE FROM audit", "UPDATE audit SET action = 'x'",
                          "UPDATE usage_codes SET sessions = sessions + 100", "DELETE FROM usage_sessions",
                          "INSERT INTO usage_tags VALUES (86400, 1, 0, 'agent', 'x', 'x', 9)",
                          "TRUNCATE usage_types", "UPDATE usage_settled SET session_id = 0",
                          "SELECT nimbus_usage_session(1, 100)"):
            refused = self.as_role(self.app, statement)
            self.assertNotEqual(refused.returncode, 0, statement)
            self.assertIn("permission denied", refused.stderr, statement)
        # And the owner, who may, is stopped by the store's own triggers.
        refused = self.as_role(self.owner, "DELETE FROM conclusion_tag")
        self.assertIn("a conclusion is final", refused.stderr)
        self.assertEqual(self.json_ok("session", "show", "r-2")["tags"], ["vip"])


if __name__ == "__main__":
    main()
