"""The store's guards (its triggers, functions, constraints and indexes): a
store whose guards differ from those its schema defines is written to by no
command, `verify` names each difference, and `init --restore-guards` mends
them. Also the parity of the two engines' migrations.

NIMBUS_UPDATE_GOLDEN=1 rewrites schema/<engine>/guards.txt from a new store."""

import os
import re
import sqlite3

from harness import ENGINE, NimbusTestCase, POSTGRESQL, ROOT, main

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"
GOLDEN_HEADER = """\
# The guards that schema/{engine}/ creates, as {engine} describes them: the triggers, functions,
# constraints, indexes and tables that keep the records permanent. nimbus-codes refuses
# to write to a store whose guards differ. Written by tests/e2e/test_guards.py with
# NIMBUS_UPDATE_GOLDEN=1 from a new store; kind, table, name and definition, tab-separated.
"""


# The trigger that keeps conclusions final, and the one that keeps concluded
# sessions, on each engine.
FINAL = {"sqlite": "conclusion_no_update", "postgresql": "conclusion_is_final"}[ENGINE]
SESSION_KEPT = {"sqlite": "session_concluded_no_delete", "postgresql": "session_concluded_is_final"}[ENGINE]


def golden_path(engine):
    return os.path.join(ROOT, "schema", engine, "guards.txt")


def guard_lines(engine):
    with open(golden_path(engine), encoding="utf-8") as f:
        return [line for line in f.read().splitlines() if not line.startswith("#")]


class GoldenGuardsTest(NimbusTestCase):
    def test_a_new_store_holds_exactly_the_guards_its_schema_lists(self):
        if os.environ.get("NIMBUS_UPDATE_GOLDEN") == "1":
            # From the migrations alone: the tool refuses a store whose guards
            # differ from the list it was built with, which is being rewritten.
            listed = self.run_ok("--store", self.schema_only_store(), "__guards").out
            with open(golden_path(ENGINE), "w", encoding="utf-8") as f:
                f.write(GOLDEN_HEADER.format(engine=ENGINE) + listed)
        self.init_store()
        listed = self.run_ok("__guards").out
        self.assertEqual(listed.splitlines(), guard_lines(ENGINE))
        result = self.run_cli("verify", "--format", "json")
        self.assertEqual((result.code, result.err), (0, ""))
        self.assertEqual((result.json()["guards"], result.json()["guard_differences"]), ("ok", 0))

    def schema_only_store(self):
        """A store made by running schema/<engine>/*.sql, marked as this schema's."""
        store = self.sandbox.new_store("schema-only.db")
        migrations = sorted(name for name in os.listdir(os.path.join(ROOT, "schema", ENGINE))
                            if re.match(r"\d{4}_.*\.sql$", name))
        version = int(migrations[-1].split("_", 1)[0])
        scripts = []
        for name in migrations:
            with open(os.path.join(ROOT, "schema", ENGINE, name), encoding="utf-8") as f:
                scripts.append(f.read())
        if POSTGRESQL:
            database = store.rsplit("/", 1)[1]
            for script in scripts:
                POSTGRESQL.psql(script, database, as_admin=False)
            POSTGRESQL.psql(f"INSERT INTO nimbus_codes_store VALUES (1, {0x4E434453}, {version})", database,
                            as_admin=False)
        else:
            db = sqlite3.connect(store, isolation_level=None)
            for script in scripts:
                db.executescript(script)
            db.executescript(f"PRAGMA application_id = {0x4E434453}; PRAGMA user_version = {version};")
            db.close()
        return store


class GuardsTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_hotline()
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER
                    + "s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,\n"
                    + "s-2,Hotline,mia,inbound,2026-11-21T08:00:00Z,2026-11-21T08:05:00Z,accepted,\n")
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale", "--as", "mia")

    def tamper(self, sqlite_sql, postgresql_sql, store=None):
        """Changes the schema behind the tool's back, as the store's owner could."""
        store = store or self.sandbox.store
        if POSTGRESQL:
            POSTGRESQL.psql(postgresql_sql, store.rsplit("/", 1)[1])
        else:
            db = sqlite3.connect(store, isolation_level=None)
            try:
                db.executescript(sqlite_sql)
            finally:
                db.close()

    def assert_writes_refused(self, named):
        before = self.sandbox.dump()
        for command in (("session", "conclude", "s-2", "--primary", "Sale", "--as", "mia"),
                        ("code", "create", "--type", "primary", "--name", "Other")):
            result = self.assert_fails(78, *command, stderr="does not hold the guards of its schema, "
                                                            "so nothing is written to it")
            self.assertIn(named, result.err)
            self.assertIn("nimbus-codes init --restore-guards", result.err)
        self.assertEqual(self.sandbox.dump(), before)
        # Reads go on: what is there can still be looked at.
        self.assertEqual(self.json_ok("session", "show", "s-1")["codes"][0]["name"], "Sale")

    def verify(self):
        result = self.run_cli("verify", "--format", "json")
        return result.code, result.json(), result.err

    def test_a_dropped_trigger_stops_every_write_until_restored(self):
        self.tamper(f"DROP TRIGGER {FINAL}", f"DROP TRIGGER {FINAL} ON conclusion")
        # Unguarded, the conclusion could now be changed by raw SQL.
        self.assertFalse(self.sandbox.refuses("UPDATE conclusion SET via = via"))
        self.assert_writes_refused(f"trigger {FINAL} on conclusion is missing")
        code, shown, err = self.verify()
        self.assertEqual(code, 65)
        self.assertEqual((shown["guards"], shown["guard_differences"]), ("broken", 1))
        self.assertIn(f"guards: trigger {FINAL} on conclusion is missing", err)

        result = self.run_ok("init", "--restore-guards")
        self.assertIn(f"restored: trigger {FINAL} on conclusion is missing", result.err)
        self.assertEqual(self.audit_actions()[-1], "store.guards")
        self.assertEqual(self.verify()[0], 0)
        self.assertTrue(self.sandbox.refuses("UPDATE conclusion SET via = via"))
        self.run_ok("session", "conclude", "s-2", "--primary", "Sale", "--as", "mia")
        self.assertIn("unchanged", self.run_ok("init", "--restore-guards").err)

    def test_a_changed_trigger_or_function_is_named(self):
        self.tamper(
            "DROP TRIGGER conclusion_no_update; "
            "CREATE TRIGGER conclusion_no_update BEFORE UPDATE ON conclusion WHEN 0 BEGIN SELECT 1; END;",
            f"ALTER TABLE conclusion DISABLE TRIGGER {FINAL}")
        self.assert_writes_refused(f"trigger {FINAL} on conclusion was changed")
        self.run_ok("init", "--restore-guards")
        self.assertEqual(self.verify()[0], 0)
        if POSTGRESQL:
            self.tamper(None, "CREATE OR REPLACE FUNCTION nimbus_refuse() RETURNS trigger "
                              "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
            self.assert_writes_refused("function nimbus_refuse was changed")
            self.run_ok("init", "--restore-guards")
            self.assertEqual(self.verify()[0], 0)
            self.assertTrue(self.sandbox.refuses("DELETE FROM audit"))

    def test_a_dropped_index_or_constraint_is_named(self):
        self.tamper("DROP INDEX code_live_name", "DROP INDEX code_live_name")
        self.assert_writes_refused("index code_live_name on code is missing")
        self.run_ok("init", "--restore-guards")
        self.assertEqual(self.verify()[0], 0)
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "SALE", stderr="exists")

    def test_an_added_trigger_is_refused_too(self):
        # Someone else's trigger could change every conclusion as it is written.
        self.tamper(
            "CREATE TRIGGER swap AFTER INSERT ON conclusion_code "
            "BEGIN UPDATE conclusion_code SET code_id = 0 WHERE session_id = NEW.session_id; END;",
            "CREATE FUNCTION swap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$; "
            "CREATE TRIGGER swap BEFORE INSERT ON conclusion_code FOR EACH ROW EXECUTE FUNCTION swap()")
        self.assert_writes_refused("trigger swap on conclusion_code is not part of the schema")
        self.assertIn("guards: trigger swap on conclusion_code is not part of the schema", self.verify()[2])
        result = self.run_ok("init", "--restore-guards")
        self.assertIn("restored: trigger swap on conclusion_code is not part of the schema", result.err)
        self.assertEqual(self.verify()[0], 0)
        self.run_ok("session", "conclude", "s-2", "--primary", "Sale", "--as", "mia")
        self.assertEqual(self.json_ok("session", "show", "s-2")["codes"][0]["name"], "Sale")

    def test_a_changed_table_cannot_be_mended_in_place(self):
        self.tamper("ALTER TABLE conclusion ADD COLUMN note TEXT", "ALTER TABLE conclusion ADD COLUMN note text")
        self.assert_writes_refused("table conclusion was changed")
        before = self.sandbox.dump()
        self.assert_fails(78, "init", "--restore-guards", stderr="a table's definition cannot be put back")
        self.assertEqual(self.sandbox.dump(), before)

    def test_only_admins_verify(self):
        self.assert_fails(77, "verify", "--as", "mia")
        self.assertEqual(self.run_cli("verify", "--as", "sam").code, 0)

    def test_store_copy_refuses_a_destination_without_its_guards(self):
        source, there = self.sandbox.store, self.sandbox.new_store("there.db")
        self.sandbox.use_store(there)
        self.init_store()
        # Prepared: the schema, no rows, and no guard against deleting sessions.
        self.tamper("DROP TRIGGER audit_no_delete; DELETE FROM audit; DELETE FROM ou; "
                    f"DROP TRIGGER {SESSION_KEPT}",
                    "SET session_replication_role = replica; DELETE FROM audit; DELETE FROM ou; "
                    f"SET session_replication_role = origin; DROP TRIGGER {SESSION_KEPT} ON session")
        before = self.sandbox.dump()
        self.assert_fails(78, "store", "copy", "--from", source, "--to", there,
                          stderr=f"trigger {SESSION_KEPT} on session is missing")
        self.assertEqual(self.sandbox.dump(), before)


class MigrationParityTest(NimbusTestCase):
    """Both engines' migrations stay in step: the same versions, and guards
    on the same tables for the same statements."""

    @staticmethod
    def versions(engine):
        return sorted(int(name.split("_", 1)[0]) for name in os.listdir(os.path.join(ROOT, "schema", engine))
                      if re.match(r"\d{4}_.*\.sql$", name))

    @staticmethod
    def guarded_statements(engine):
        """{(table, statement)} that some trigger refuses or checks."""
        guarded = set()
        for line in guard_lines(engine):
            kind, table, name, definition = line.split("\t", 3)
            # SQLite's REPLACE deletes rows without firing delete triggers, so
            # it has INSERT triggers against it; PostgreSQL has no REPLACE.
            # PostgreSQL's *_is_chained triggers hold people who connect as
            # their own database roles to the tool's ledger (schema 9); a
            # SQLite store has no such roles.
            if kind != "trigger" or (engine == "sqlite" and name.endswith("_no_replace")) \
                    or (engine == "postgresql" and name.endswith("_is_chained")):
                continue
            events = re.search(r"\b(?:BEFORE|AFTER|INSTEAD OF)\s+(.*?)\s+ON\s", definition, re.IGNORECASE)
            for event in re.split(r"\s+OR\s+", events.group(1), flags=re.IGNORECASE):
                statement = event.split()[0].upper()
                # SQLite has no TRUNCATE; its DELETE triggers refuse what it would do.
                if statement != "TRUNCATE":
                    guarded.add((table, statement))
        return guarded

    @staticmethod
    def guard(engine, kind, name):
        for line in guard_lines(engine):
            fields = line.split("\t", 3)
            if (fields[0], fields[2]) == (kind, name):
                return fields[3].replace("\\n", "\n")
        raise AssertionError(f"no {kind} {name} in schema/{engine}/guards.txt")

    def test_every_column_of_a_concluded_session_is_guarded(self):
        # A column added to session must be added to the rule that freezes
        # concluded sessions, on both engines (and to tables.cpp, which the
        # copy and the ledger read: test_store_copy compares every column).
        sqlite_table = self.guard("sqlite", "table", "session")
        columns = re.findall(r"^\s+(\w+)\s+(?:INTEGER|TEXT)", sqlite_table, re.MULTILINE)
        self.assertEqual(columns[:3], ["id", "external_id", "service_id"])
        postgresql_table = self.guard("postgresql", "table", "session")
        self.assertEqual([c.split()[0] for c in postgresql_table.split(", ")], columns)
        for engine, kind, name in (("sqlite", "trigger", "session_concluded_no_update"),
                                   ("postgresql", "function", "session_concluded_is_final")):
            rule = self.guard(engine, kind, name)
            for column in columns:
                self.assertRegex(rule, rf'OLD\."?{column}\b', f"{engine}: {name} does not guard {column}")

    def test_the_same_versions_on_both_engines(self):
        self.assertEqual(self.versions("sqlite"), self.versions("postgresql"))
        self.assertEqual(self.versions("sqlite"), list(range(1, len(self.versions("sqlite")) + 1)))

    def test_the_same_tables_and_statements_are_guarded(self):
        sqlite_guarded = self.guarded_statements("sqlite")
        self.assertIn(("conclusion", "UPDATE"), sqlite_guarded)
        self.assertEqual(sqlite_guarded, self.guarded_statements("postgresql"))


if __name__ == "__main__":
    main()
