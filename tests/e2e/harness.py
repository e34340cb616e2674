"""End-to-end harness: runs the real nimbus-codes binary against a temporary
store and identity file, with a fixed clock and time zone.

NIMBUS_TEST_ENGINE picks the store: "sqlite" (the default: a file in the
sandbox) or "postgresql" (a new database per test on the server that
scripts/postgresql.sh started, named by NIMBUS_TEST_POSTGRESQL)."""

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
import uuid

BINARY = os.environ.get("NIMBUS_CODES_BIN", "nimbus-codes")
LOGIN = pwd.getpwuid(os.geteuid()).pw_name
FIXED_NOW = "2026-11-26T09:30:00Z"
SCHEMA_VERSION = 17  # the newest migration in schema/sqlite/ and schema/postgresql/
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENGINE = os.environ.get("NIMBUS_TEST_ENGINE", "sqlite")


# Time limits. Each is given as what the work took on an idle two-core machine,
# measured when the limit was set, and allowed ten times that, never under a
# minute: a loaded machine makes the suite slower, never red. Builds that run
# slower (sanitizers) set NIMBUS_TEST_SLOWDOWN, which multiplies every limit.
SLOWDOWN = float(os.environ.get("NIMBUS_TEST_SLOWDOWN", "1"))


def time_limit(measured):
    """Seconds to allow for work that took `measured` seconds on an idle machine."""
    return max(60.0, 10 * measured) * SLOWDOWN


# One command, a psql statement or a shell snippet: at most 0.2 s idle
# (nimbus-codes report usage on the golden data set, PostgreSQL: 0.08 s).
COMMAND = time_limit(0.2)

# How long a writer waits for another before it exits 75. The product's 5 s
# default is a time limit too: where tests make writers contend (test_concurrency,
# the kill -9 tests of test_reliability), a loaded or sanitized machine must wait,
# not exit 75. So every sandbox sets NIMBUS_CODES_BUSY_TIMEOUT to this, from the
# longest wait measured there: one of 16 concurrent `session conclude`s, its wait
# included, took at most 0.32 s (PostgreSQL; SQLite 0.29 s; at a load average of 2
# from other builds, 0.63 s at 6). A test that checks exit 75 gives its own short
# --busy-timeout.
BUSY_TIMEOUT = time_limit(0.32)


def milliseconds(seconds):
    """A limit in seconds as the whole milliseconds --busy-timeout takes."""
    return str(round(seconds * 1000))


def sqlite_only(reason):
    """Marks a test about SQLite's files; the PostgreSQL pass reports it skipped, with why."""
    return unittest.skipUnless(ENGINE == "sqlite", f"SQLite only: {reason}")


def postgresql_only(test):
    return unittest.skipUnless(ENGINE == "postgresql", "runs in the PostgreSQL pass")(test)


class Postgresql:
    """The test server: its URI for nimbus-codes and psql for set-up and checks."""

    def __init__(self):
        try:
            self.uri = os.environ["NIMBUS_TEST_POSTGRESQL"]
            self.admin = os.environ["NIMBUS_TEST_POSTGRESQL_ADMIN"]
            self.psql_binary = os.environ["NIMBUS_TEST_PSQL"]
            self.passfile = os.environ["PGPASSFILE"]
        except KeyError as missing:
            raise RuntimeError(f"NIMBUS_TEST_ENGINE=postgresql needs {missing}: run the tests with "
                               "scripts/test.sh, or eval \"$(scripts/postgresql.sh start DIR)\"") from None

    def psql(self, sql, database="postgres", as_admin=True, check=True):
        """Runs SQL; gives the completed process (rows tab-separated on stdout)."""
        target = f"{self.admin} dbname={database}" if as_admin else f"{self.uri}/{database}"
        completed = subprocess.run(
            [self.psql_binary, "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", target,
             "-c", sql],
            capture_output=True, text=True, timeout=COMMAND, env=dict(os.environ, PGPASSFILE=self.passfile))
        if check and completed.returncode != 0:
            raise AssertionError(f"psql failed: {sql}\n{completed.stderr}")
        return completed

    def create_database(self):
        name = "nimbus_e2e_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name} OWNER nimbus")
        return name

    def drop_database(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", check=False)


POSTGRESQL = Postgresql() if ENGINE == "postgresql" else None


class Run:
    """The outcome of one invocation."""

    def __init__(self, args, completed):
        self.args = args
        self.code = completed.returncode
        # Decoded by hand: text mode would turn CSV's CRLF into LF.
        self.out = completed.stdout.decode("utf-8")
        self.err = completed.stderr.decode("utf-8")

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"nimbus-codes {' '.join(self.args)} -> {self.code}\nstdout: {self.out}\nstderr: {self.err}"


def toml_string(value):
    return json.dumps(value, ensure_ascii=False)


def identity_toml(users):
    """TOML for {login: {field: value}}; lists and booleans as TOML wants them."""
    lines = []
    for login, fields in users.items():
        lines.append(f"[users.{toml_string(login)}]")
        for key, value in fields.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, list):
                lines.append(f"{key} = [{', '.join(toml_string(v) for v in value)}]")
            else:
                lines.append(f"{key} = {toml_string(value)}")
        lines.append("")
    return "\n".join(lines)


def is_root():
    return os.geteuid() == 0


def needs_root(reason):
    """Marks a test or class that only root can run; others report it skipped, with why."""
    return unittest.skipUnless(is_root(), f"needs root: {reason}")


def ordinary_account():
    """The unprivileged account that commands run as when the tests run as root
    (nobody); when they do not, the account running them."""
    return pwd.getpwnam("nobody") if is_root() else pwd.getpwuid(os.geteuid())


# A user id with no account, for files and links that "someone else" made.
STRANGER_UID = 4242


class Sandbox:
    """A scratch folder with a store path, an identity file and a clean environment."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nimbus-e2e-")
        self.account = None  # None: commands run as the tests do
        self.databases = []
        self.identity = os.path.join(self.dir, "identity.toml")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(self.dir, "home"),
            "TZ": "Europe/Zurich",
            "LANG": "C.UTF-8",
            "NIMBUS_CODES_NOW": FIXED_NOW,
            "NIMBUS_CODES_IDENTITY": self.identity,
            "NIMBUS_CODES_BUSY_TIMEOUT": milliseconds(BUSY_TIMEOUT),
        }
        if POSTGRESQL:
            self.env["PGPASSFILE"] = POSTGRESQL.passfile
        # What scripts/sanitize.sh asks of a sanitized binary.
        for name in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"):
            if name in os.environ:
                self.env[name] = os.environ[name]
        os.makedirs(self.env["HOME"])
        self.use_store(self.new_store("store.db"))

    def new_store(self, name):
        """Where a new, empty store can be made: a file, or a new database."""
        if POSTGRESQL:
            self.databases.append(POSTGRESQL.create_database())
            return f"{POSTGRESQL.uri}/{self.databases[-1]}"
        return os.path.join(self.dir, name)

    def use_store(self, store):
        self.store = store
        self.env["NIMBUS_CODES_STORE"] = store

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        for database in self.databases:
            POSTGRESQL.drop_database(database)

    def database(self):
        """The PostgreSQL database of the current store; None for a SQLite file."""
        return self.store.rsplit("/", 1)[1] if self.store.startswith("postgresql://") else None

    def rows(self, sql):
        """The rows of a query on the store, each a tuple of text (None for NULL)."""
        if self.database():
            out = POSTGRESQL.psql(sql, self.database()).stdout
            return [tuple(line.split("\t")) for line in out.splitlines()]
        with sqlite3.connect(self.store) as db:
            return [tuple(None if v is None else str(v) for v in row) for row in db.execute(sql)]

    def dump(self):
        """The whole store as text (schema and rows), to compare before and after."""
        if self.database():
            pg_dump = os.path.join(os.path.dirname(POSTGRESQL.psql_binary), "pg_dump")
            dumped = subprocess.run([pg_dump, "--no-owner", "-d", f"{POSTGRESQL.admin} dbname={self.database()}"],
                                    capture_output=True, text=True, timeout=COMMAND, check=True).stdout
            # pg_dump guards its output with a random key per run.
            return "\n".join(line for line in dumped.splitlines() if not line.startswith(("\\restrict",
                                                                                          "\\unrestrict")))
        db = sqlite3.connect(self.store)
        try:
            return "\n".join(db.iterdump())
        finally:
            db.close()

    def dump_but_sequences(self):
        """dump(), but for where PostgreSQL's id sequences stand: a refused
        write may have taken numbers that it gives back unused."""
        return "\n".join(line for line in self.dump().splitlines()
                         if not line.startswith("SELECT pg_catalog.setval("))

    def files(self):
        """Every path in the sandbox, to see that nothing was created."""
        return sorted(os.path.join(folder, name) for folder, dirs, files in os.walk(self.dir)
                      for name in dirs + files)

    def count(self, sql):
        """The integer a one-value query on the store gives."""
        return int(self.rows(sql)[0][0])

    def refuses(self, sql):
        """True when the store refuses raw SQL, run as the role nimbus-codes uses."""
        if self.database():
            return POSTGRESQL.psql(sql, self.database(), as_admin=False, check=False).returncode != 0
        db = sqlite3.connect(self.store, isolation_level=None)
        try:
            db.execute(sql)
            return False
        except sqlite3.DatabaseError:
            return True
        finally:
            db.close()

    def write_identity(self, users, mode=0o600):
        with open(self.identity, "w", encoding="utf-8") as f:
            f.write(identity_toml(users))
        os.chmod(self.identity, mode)
        self.give(self.identity)

    def write_identity_text(self, text, mode=0o600):
        with open(self.identity, "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.chmod(self.identity, mode)
        self.give(self.identity)

    def become(self, account):
        """Runs every later command as `account` (a pwd entry), to whom the
        sandbox then belongs. Only root can; for anyone else it is a no-op
        when `account` is themselves."""
        if account.pw_uid == os.geteuid():
            return
        self.account = account
        for folder, _, files in os.walk(self.dir):
            for path in [folder, *(os.path.join(folder, f) for f in files)]:
                os.lchown(path, account.pw_uid, account.pw_gid)
        if POSTGRESQL:
            # libpq reads a password file only if its owner alone can.
            passfile = os.path.join(self.dir, "pgpass")
            shutil.copyfile(POSTGRESQL.passfile, passfile)
            os.chmod(passfile, 0o600)
            self.give(passfile)
            self.env["PGPASSFILE"] = passfile

    def give(self, path):
        """Hands a file the tests made to the account the commands run as."""
        if self.account:
            os.lchown(path, self.account.pw_uid, self.account.pw_gid)

    def command(self, *args):
        """The argument list that runs nimbus-codes as the sandbox's account."""
        if self.account:
            return ["setpriv", f"--reuid={self.account.pw_uid}", f"--regid={self.account.pw_gid}",
                    "--clear-groups", BINARY, *args]
        return [BINARY, *args]

    def environment(self, env=None):
        environment = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                environment.pop(key, None)
            else:
                environment[key] = value
        return environment

    def run(self, *args, env=None, stdin=None, timeout=COMMAND, cwd=None):
        environment = self.environment(env)
        completed = subprocess.run(
            self.command(*args),
            env=environment,
            cwd=cwd,
            input=stdin.encode("utf-8") if isinstance(stdin, str) else stdin,
            capture_output=True,
            timeout=timeout,
        )
        return Run(args, completed)


# Schema 16's rollups taken out, for a test that puts a store back to an
# older schema: its migration makes them again from the sessions.
ROLLUPS_DROPPED = {
    "sqlite": "DROP TRIGGER IF EXISTS usage_session_added; DROP TRIGGER IF EXISTS usage_session_changed; "
              "DROP TRIGGER IF EXISTS usage_session_removed; DROP TRIGGER IF EXISTS usage_conclusion_added; "
              "DROP TRIGGER IF EXISTS usage_conclusion_default_added; DROP TRIGGER IF EXISTS usage_code_added; "
              "DROP TRIGGER IF EXISTS usage_tag_added; DROP TRIGGER IF EXISTS usage_type_added; DROP VIEW IF EXISTS usage_session_keys; DROP VIEW IF EXISTS usage_concluded_by; "
              "DROP TABLE IF EXISTS usage_settled; DROP TABLE IF EXISTS usage_sessions; DROP TABLE IF EXISTS usage_types; "
              "DROP TABLE IF EXISTS usage_codes; DROP TABLE IF EXISTS usage_tags; ",
    "postgresql": "DROP FUNCTION usage_session_changed(), usage_rows_added(), "
                  "usage_settled_forward() CASCADE; DROP FUNCTION nimbus_usage_session(bigint, bigint), "
                  "nimbus_usage_settled(), nimbus_usage_settle(), nimbus_usage_row(), "
                  "nimbus_usage_add(bigint, bigint, bigint, bigint, bigint, bigint); "
                  "DROP VIEW usage_session_keys, usage_concluded_by; "
                  "DROP TABLE usage_settled, usage_sessions, usage_types, usage_codes, usage_tags; "
                  "DROP SEQUENCE usage_pending; ",
}

# A standard cast: the OS account running the tests is a tenant admin; the
# others are reached with --as.
CAST = {
    LOGIN: {"name": "Test Runner", "tenant_admin": True},
    "alice": {"name": "Alice Admin", "email": "alice@contoso.example", "tenant_admin": True},
    "sam": {"name": "Sam Sales", "ou_admin": ["Contoso/Sales"]},
    "olga": {"name": "Olga Owner", "owner": ["Hotline"]},
    "sue": {"name": "Sue Supervisor", "supervisor": ["Hotline"]},
    "mia": {"name": "Mia Member", "member": ["Hotline"]},
}


class NimbusTestCase(unittest.TestCase):
    """Each test gets its own sandbox; `self.run_ok` asserts success."""

    def setUp(self):
        self.sandbox = Sandbox()
        self.addCleanup(self.sandbox.cleanup)
        self.sandbox.write_identity(CAST)

    def run_cli(self, *args, **kwargs):
        return self.sandbox.run(*args, **kwargs)

    def run_ok(self, *args, **kwargs):
        result = self.sandbox.run(*args, **kwargs)
        self.assertEqual(result.code, 0, repr(result))
        return result

    def json_ok(self, *args, **kwargs):
        return self.run_ok(*args, "--format", "json", **kwargs).json()

    def assert_fails(self, code, *args, stderr=None, **kwargs):
        """Asserts the exit code, that stdout is empty, and that stderr holds `stderr`."""
        result = self.sandbox.run(*args, **kwargs)
        self.assertEqual(result.code, code, repr(result))
        self.assertEqual(result.out, "", repr(result))
        self.assertIn("nimbus-codes: error: ", result.err, repr(result))
        if stderr is not None:
            self.assertIn(stderr, result.err, repr(result))
        return result

    def init_store(self, tenant="Contoso"):
        return self.run_ok("init", "--tenant", tenant)

    def write(self, name, text):
        """A file in the sandbox holding `text` (UTF-8), or `bytes` as they are; its path."""
        path = os.path.join(self.sandbox.dir, name)
        with open(path, "w", encoding="utf-8") if isinstance(text, str) else open(path, "wb") as f:
            f.write(text)
        return path

    def init_hotline(self):
        """A new store whose one service, Hotline in Contoso/Sales, offers the
        primary code Sale, with codes and tags enabled."""
        self.init_store()
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
        ):
            self.run_ok(*command)

    def import_calls(self, ids):
        """Ended, unconcluded Hotline calls of mia, one per id."""
        rows = "".join(f"{i},Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T08:05:00Z,accepted,\n"
                       for i in ids)
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin="id,service,user,direction,started_at,ended_at,outcome,caller\n" + rows)

    def audit_actions(self):
        return [entry["action"] for entry in self.json_ok("audit", "list")]


# ctest's SKIP_RETURN_CODE: a file whose every test was skipped is reported
# as skipped, never as passed.
ALL_SKIPPED = 77


def main():
    result = unittest.main(verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        sys.exit(ALL_SKIPPED)
