"""store copy: a whole store moved between engines, ids and all, then verified.

The source is always a SQLite store built by the golden report data set. The
destination is a store of the engine under test: another SQLite file, or a new
PostgreSQL database; the copy is then copied back into a second SQLite file."""

import json
import os
import resource
import signal
import sqlite3
import subprocess
from urllib.parse import urlsplit

from harness import (BINARY, CAST, COMMAND, ENGINE, LOGIN, NimbusTestCase, POSTGRESQL, main, postgresql_only,
                     sqlite_only)
from test_reports import CASES, GOLDEN, GOLDEN_USERS, golden_sandbox

# Every table and its key, to compare whole stores row by row.
TABLES = {
    "ou": "id", "code": "id", "service": "id", "service_code": "service_id, list, position",
    "service_extension": "service_id, feature", "session": "id", "conclusion": "session_id",
    "conclusion_code": "session_id, position", "conclusion_tag": "session_id, position", "audit": "id",
    "directory": "ou_id", "directory_entry": "ou_id, number", "context_field": "id",
    "session_context": "session_id, field_id", "session_times": "session_id", "ledger": "position",
    "caller_number": "caller, country", "service_wrap_up": "service_id", "conclusion_default": "session_id",
    "ou_retired": "ou_id", "service_retired": "service_id",
    # Rebuilt by the copy from the rows above: the same counts as the source's.
    "usage_settled": "id", "usage_sessions": "span, service_id, bucket",
    "usage_types": "span, service_id, bucket, concluded_by, type",
    "usage_codes": "span, service_id, bucket, concluded_by, type, code_id, name",
    "usage_tags": "span, service_id, bucket, concluded_by, tag_key",
}
# The columns both engines share, where a server's table has more: its rollups'
# `pending` (0 on a store without a roster, the only kind a copy reads or writes).
SHARED_COLUMNS = {
    "usage_sessions": "span, service_id, bucket, total, concluded, retroactive, by_default",
    "usage_types": "span, service_id, bucket, concluded_by, type, sessions",
    "usage_codes": "span, service_id, bucket, concluded_by, type, code_id, name, sessions",
    "usage_tags": "span, service_id, bucket, concluded_by, tag_key, tag, sessions",
}
# Commands whose output must not depend on the engine.
READS = [
    ["code", "list", "--include-deleted", "--format", "json"],
    ["ou", "list", "--format", "json"],
    ["service", "list", "--format", "json"],
    ["service", "show", "Hotline", "--format", "json"],
    ["session", "list", "--format", "json"],
    ["session", "show", "h-3", "--format", "json"],
    ["config", "export"],
    ["report", "export", "--dir", "{dir}", "--from", "2026-10-01", "--to", "2026-12-31"],
]


class StoreCopyTest(NimbusTestCase):
    @classmethod
    def setUpClass(cls):
        # One golden SQLite store, whatever the engine under test; each test copies it.
        cls.source = golden_sandbox("golden.db")

    @classmethod
    def tearDownClass(cls):
        cls.source.cleanup()

    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(GOLDEN_USERS)
        self.sandbox.env["NIMBUS_CODES_NOW"] = "2026-12-05T09:00:00Z"

    def copy(self, source, destination):
        result = self.run_ok("store", "copy", "--from", source, "--to", destination)
        self.assertIn(f"verified: every table's rows identical", result.err)
        return result

    def on(self, store, *args):
        """The output of a command run on `store`."""
        result = self.run_ok("--store", store, *args)
        return result.out

    def dump(self, store):
        """Every row of every table, through the engine's own client (which
        shows NULL as psql does: empty)."""
        self.sandbox.use_store(store)
        return {table: [tuple("" if value is None else value for value in row)
                        for row in self.sandbox.rows(
                            f"SELECT {SHARED_COLUMNS.get(table, '*')} FROM {table} ORDER BY {key}")]
                for table, key in TABLES.items()}

    def test_golden_store_copied_there_and_back_gives_identical_reports(self):
        golden = self.source.store
        there = self.sandbox.new_store("there.db")
        back = os.path.join(self.sandbox.dir, "back.db")
        copied = self.copy(golden, there)
        self.copy(there, back)

        counts = dict(line.split() for line in copied.out.splitlines()[1:])
        self.assertEqual(counts["session"], "8")
        self.assertEqual(counts["conclusion"], "7")
        self.assertEqual(counts["code"], "6")

        for name, args in CASES.items():
            with self.subTest(name):
                with open(os.path.join(GOLDEN, "reports", name), encoding="utf-8", newline="") as f:
                    expected = f.read()
                for store in (golden, there, back):
                    self.assertEqual(self.on(store, "report", "usage", *args), expected, f"{name} on {store}")

        for args in READS:
            with self.subTest(" ".join(args[:2])):
                outputs = []
                for i, store in enumerate((golden, there, back)):
                    folder = os.path.join(self.sandbox.dir, f"export-{i}")
                    out = self.on(store, *[a.replace("{dir}", folder) for a in args])
                    if "--dir" in args:
                        out = sorted(os.listdir(folder)) + [
                            open(os.path.join(folder, n), encoding="utf-8").read()
                            for n in sorted(os.listdir(folder)) if n != "manifest.json"]
                    outputs.append(out)
                self.assertEqual(outputs[0], outputs[1])
                self.assertEqual(outputs[0], outputs[2])

        # Every table of the schema is compared, all columns, row for row, ids
        # included; the copies add one audit record each.
        self.sandbox.use_store(golden)
        schema_tables = {name for (name,) in self.sandbox.rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")}
        # outcome is static; ledger_pending is empty but on a server whose
        # writers take no lock, where a copy is refused.
        self.assertEqual(schema_tables, set(TABLES) | {"outcome", "ledger_pending"})
        original, first, second = self.dump(golden), self.dump(there), self.dump(back)
        for table in TABLES:
            if table in ("audit", "ledger"):  # the copy's own audit record, chained
                self.assertEqual(first[table][:-1], original[table])
                self.assertEqual(second[table][:-1], first[table])
            else:
                self.assertEqual(first[table], original[table], table)
                self.assertEqual(second[table], original[table], table)
        self.assertEqual(first["audit"][-1][5], "store.copy")
        self.assertEqual(first["audit"][-1][2], LOGIN)
        self.assertEqual(first["ledger"][-1][1:3], ("audit", first["audit"][-1][0]))
        # The chain came along: the source's head is in each copy's chain, and
        # each copy verifies.
        head = self.on(golden, "verify", "--format", "json")
        for store in (there, back):
            proof = json.loads(self.on(store, "verify", "--head", json.loads(head)["head"], "--format", "json"))
            self.assertEqual((proof["ledger"], proof["known_head_position"]),
                             ("ok", json.loads(head)["records"]))

    def test_copy_goes_on_where_the_source_left_off(self):
        there = self.sandbox.new_store("there.db")
        self.copy(self.source.store, there)
        self.sandbox.use_store(there)
        last_code = self.sandbox.count("SELECT max(id) FROM code")
        created = self.json_ok("code", "create", "--type", "secondary", "--name", "Complaint")
        self.assertEqual(created[0]["id"] if isinstance(created, list) else created["id"], last_code + 1)
        # An open session of the source can be concluded once in the copy ...
        self.run_ok("session", "conclude", "h-6", "--primary", "No sale", "--as", "mia")
        self.assert_fails(4, "session", "conclude", "h-6", "--primary", "Callback", "--as", "mia")
        # ... and the copied conclusions are as permanent as any.
        self.assert_fails(4, "session", "conclude", "h-1", "--primary", "Callback", "--as", "mia")
        self.assertTrue(self.sandbox.refuses("UPDATE conclusion SET retroactive = 0"))
        self.assertTrue(self.sandbox.refuses("DELETE FROM conclusion_tag"))
        # The source did not change.
        self.assertEqual(self.on(self.source.store, "session", "show", "h-6", "--format", "json").count('"concluded_at": null'), 1)

    def test_context_times_and_callers_are_copied_with_their_sessions(self):
        source = os.path.join(self.sandbox.dir, "context.db")
        self.sandbox.use_store(source)
        self.sandbox.write_identity(CAST)
        self.init_hotline()
        self.run_ok("context", "define", "Reason", "--type", "choice", "--values", "Billing,Other")
        self.run_ok("context", "define", "Note", "--type", "text", "--ou", "Contoso/Sales")
        self.run_ok("session", "add", "--id", "c-1", "--service", "Hotline", "--user", "mia",
                    "--started-at", "2026-11-20T08:00:00Z", "--context", "Reason=billing",
                    "--context", "Note=Grüezi \\ 'x'")
        self.run_ok("session", "conclude", "c-1", "--primary", "Sale", "--as", "mia")
        self.run_ok("session", "add", "--id", "c-2", "--service", "Hotline", "--user", "mia",
                    "--started-at", "2026-11-20T09:00:00Z", "--ended-at", "2026-11-20T09:01:00Z",
                    "--outcome", "accepted", "--waiting-seconds", "5", "--talk-seconds", "50",
                    "--caller", "044 668 18 00")
        self.run_ok("session", "conclude", "c-2", "--primary", "Sale", "--as", "mia")
        # The directory comes after the session: its import reads the session's caller.
        callers = os.path.join(self.sandbox.dir, "callers.csv")
        with open(callers, "w", encoding="utf-8") as f:
            f.write("number,name\n+41 44 668 18 00,Anna Muster\n")
        self.run_ok("directory", "import", callers, "--country", "CH")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        there = self.sandbox.new_store("there.db")
        self.copy(source, there)
        back = os.path.join(self.sandbox.dir, "back.db")
        self.copy(there, back)
        original, first, second = self.dump(source), self.dump(there), self.dump(back)
        for table, rows in (("context_field", 2), ("session_context", 2), ("session_times", 1),
                            ("caller_number", 1)):
            self.assertEqual(len(original[table]), rows, table)
            self.assertEqual(first[table], original[table], table)
            self.assertEqual(second[table], original[table], table)
        for store in (there, back):
            self.assertEqual(json.loads(self.on(store, "verify", "--format", "json"))["ledger"], "ok")
            self.sandbox.use_store(store)
            self.assertTrue(self.sandbox.refuses("UPDATE session_context SET value = 'Other'"))
            self.assertTrue(self.sandbox.refuses("UPDATE session_times SET talk_seconds = 1"))
            self.assertEqual(self.json_ok("session", "show", "c-2")["directory"]["name"], "Anna Muster")
        # Ids go on where the copy left off.
        self.sandbox.use_store(there)
        self.run_ok("context", "define", "Channel", "--type", "text")

    def test_text_is_copied_byte_for_byte(self):
        # Backslashes and quotes, in names and in the audit trail's JSON.
        source = os.path.join(self.sandbox.dir, "source.db")
        self.sandbox.use_store(source)
        self.run_ok("init", "--tenant", "Con\\toso")
        self.run_ok("code", "create", "--type", "primary", "--name", 'Back\\slash "q" \\N',
                    "--description", "Grüezi \\\\ 'x' ✓")
        there = self.sandbox.new_store("there.db")
        self.copy(source, there)
        original, copied = self.dump(source), self.dump(there)
        self.assertEqual(copied["code"], original["code"])
        self.assertEqual(copied["ou"], original["ou"])
        self.assertEqual(copied["audit"][:-1], original["audit"])
        self.assertEqual(self.on(there, "code", "list", "--format", "json"),
                         self.on(source, "code", "list", "--format", "json"))

    def test_a_destination_that_would_alter_the_copy_is_refused_first(self):
        # A prepared destination: an empty schema with a trigger that alters
        # the callers it is given. Its guards differ from the schema's, so
        # nothing is copied (the row comparison after the copy stays a second line).
        there = self.sandbox.new_store("there.db")
        self.sandbox.use_store(there)
        self.init_store()
        if self.sandbox.database():
            POSTGRESQL.psql("""
                SET session_replication_role = replica;
                DELETE FROM audit; DELETE FROM ou;
                SET session_replication_role = origin;
                CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN NEW.caller := NEW.caller || '!'; RETURN NEW; END $$;
                CREATE TRIGGER garble BEFORE INSERT ON session FOR EACH ROW EXECUTE FUNCTION garble();""",
                            self.sandbox.database())
        else:
            db = sqlite3.connect(there, isolation_level=None)
            keep = db.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_no_delete'").fetchone()[0]
            db.executescript(f"""
                DROP TRIGGER audit_no_delete; DELETE FROM audit; DELETE FROM ou; {keep};
                CREATE TRIGGER garble AFTER INSERT ON session
                BEGIN UPDATE session SET caller = caller || '!' WHERE id = NEW.id; END;""")
            db.close()
        before = self.dump(there)
        self.assertEqual(before["ou"], [])
        self.assert_fails(78, "store", "copy", "--from", self.source.store, "--to", there,
                          stderr="trigger garble on session is not part of the schema")
        self.assertEqual(self.dump(there), before)

    def test_destination_must_be_empty(self):
        there = self.sandbox.new_store("there.db")
        self.sandbox.use_store(there)
        self.init_store()
        before = self.dump(there)
        self.assert_fails(4, "store", "copy", "--from", self.source.store, "--to", there,
                          stderr="is not empty: its table ou holds rows")
        self.assertEqual(self.dump(there), before)

    def test_refusals_change_nothing(self):
        there = self.sandbox.new_store("there.db")
        missing = os.path.join(self.sandbox.dir, "missing.db")
        self.assert_fails(64, "store", "copy", "--from", self.source.store, "--to", self.source.store,
                          stderr="the source and the destination are the same store")
        self.assert_fails(64, "store", "copy", "--from", self.source.store,
                          "--to", "postgresql://nimbus:secret@127.0.0.1:1/db", stderr="password")
        self.assert_fails(66, "store", "copy", "--from", missing, "--to", there)
        self.assert_fails(77, "store", "copy", "--from", self.source.store, "--to", there, "--as", "sam")
        self.assert_fails(64, "store", "copy", "--from", self.source.store)
        self.assertFalse(os.path.exists(missing))
        if ENGINE == "sqlite":
            self.assertFalse(os.path.exists(there))
        # After all that the destination is still empty: a copy succeeds.
        self.copy(self.source.store, there)

    def test_copy_holds_the_source_write_lock(self):
        # Another writer on the source: the copy waits, then gives up (75),
        # as a writer would; nothing is created.
        there = self.sandbox.new_store("there.db")
        holder = sqlite3.connect(self.source.store, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            self.assert_fails(75, "store", "copy", "--from", self.source.store, "--to", there,
                              "--busy-timeout", "300", stderr="locked")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        if ENGINE == "sqlite":
            self.assertFalse(os.path.exists(there))
        self.copy(self.source.store, there)

    @postgresql_only
    def test_one_database_named_two_ways_is_explained(self):
        there = self.sandbox.new_store("there.db")
        self.copy(self.source.store, there)
        # 127.0.0.1 and localhost: the copy would wait for its own source's lock.
        server = urlsplit(there)
        with open(POSTGRESQL.passfile) as f:
            known = f.read()
        passfile = os.path.join(self.sandbox.dir, "pgpass")
        with open(passfile, "w") as f:
            f.write(known + f"localhost:{server.port}:*:{server.username}:{known.strip().rsplit(':', 1)[1]}\n")
        os.chmod(passfile, 0o600)
        elsewhere = there.replace(server.hostname, "localhost", 1)
        other = self.sandbox.new_store("other.db")
        result = self.assert_fails(75, "store", "copy", "--from", there, "--to", elsewhere, "--busy-timeout", "300",
                                   env={"PGPASSFILE": passfile})
        self.assertIn("waiting for its own source's lock", result.err)
        self.copy(there, other)

    @sqlite_only("a file too large for the process's limit")
    def test_failed_copy_leaves_no_file(self):
        there = os.path.join(self.sandbox.dir, "there.db")

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

        completed = subprocess.run([BINARY, "store", "copy", "--from", self.source.store, "--to", there],
                                   env=self.sandbox.env, capture_output=True, timeout=COMMAND, preexec_fn=limit)
        self.assertEqual(completed.returncode, 73, completed.stderr)
        self.assertIn(b"nimbus-codes: error: ", completed.stderr)
        self.assertEqual(completed.stdout, b"")
        self.assertFalse([name for name in os.listdir(self.sandbox.dir) if name.startswith("there.db")])


if __name__ == "__main__":
    main()
