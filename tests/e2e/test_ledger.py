"""The ledger: every permanent record chained in commit order, and `verify`
finding what changed behind the tool's back, on both engines, even when the
tamperer put the triggers back afterwards or recomputed every hash."""

import json
import os
import re
import sqlite3

from harness import NimbusTestCase, POSTGRESQL, ROLLUPS_DROPPED, main

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


class LedgerTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_hotline()
        self.run_ok("code", "create", "--type", "primary", "--name", "No sale")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,No sale")
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER
                    + "s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,+41 1\n"
                    + "s-2,Hotline,mia,inbound,2026-11-21T08:00:00Z,2026-11-21T08:05:00Z,accepted,+41 2\n"
                    + "s-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,,,+41 3\n")
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale", "--tag", "vip", "--as", "mia")
        self.run_ok("session", "conclude", "s-2", "--primary", "No sale", "--as", "mia")
        self.run_ok("session", "conclude", "s-3", "--primary", "Sale", "--as", "mia")  # still on
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER
                    + "s-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,2026-11-22T08:30:00Z,accepted,+41 3\n")

    def verify(self, *args):
        result = self.run_cli("verify", *args, "--format", "json")
        return result.code, result.json(), result.err

    def head(self):
        code, shown, err = self.verify()
        self.assertEqual((code, err, shown["ledger"]), (0, "", "ok"), err)
        return shown

    def tamper(self, sqlite_sql, postgresql_sql):
        """Changes records with the guards out of the way, then puts the guards
        back as they were: what the tool's guard check cannot see."""
        if POSTGRESQL:
            POSTGRESQL.psql("SET session_replication_role = replica; " + postgresql_sql, self.sandbox.database())
            return
        db = sqlite3.connect(self.sandbox.store, isolation_level=None)
        try:
            triggers = db.execute("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
            before = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                db.execute(f"DROP TRIGGER {name}")
            db.executescript(sqlite_sql)
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            # A trigger goes back unless its table, or a table it reads, was dropped.
            dropped = before - tables
            for table, sql in triggers:
                if table in tables and not any(re.search(rf"\b{name}\b", sql) for name in dropped):
                    db.execute(sql)
        finally:
            db.close()

    def assert_break(self, kind, record, *args):
        code, shown, err = self.verify(*args)
        self.assertEqual(code, 65, err)
        self.assertEqual((shown["guards"], shown["ledger"], shown["first_break"]), ("ok", "broken", kind), err)
        self.assertEqual(shown["break_record"], record)
        self.assertIn(f"ledger: {record}: {kind}", err)
        self.assertIn("the store does not verify", err)
        return shown

    def test_every_permanent_record_is_chained_in_commit_order(self):
        shown = self.head()
        audit = self.json_ok("audit", "list")
        rows = self.sandbox.rows("SELECT position, kind, record_id FROM ledger ORDER BY position")
        # Each audit record and each conclusion once; the end of s-3, which came
        # after its conclusion, once; a conclusion before its command's audit record.
        self.assertEqual(len(rows), len(audit) + 3 + 1)
        self.assertEqual(shown["records"], len(rows))
        kinds = [kind for _, kind, _ in rows]
        self.assertEqual(kinds.count("completion"), 1)
        first_conclusion = kinds.index("conclusion")
        self.assertEqual(kinds[first_conclusion + 1], "audit")
        self.assertEqual(shown["head"], self.sandbox.rows("SELECT chain_hash FROM ledger ORDER BY position DESC")[0][0])
        # A table for people, too.
        table = self.run_ok("verify").out
        self.assertIn(f"RECORDS              {shown['records']}\n", table)
        self.assertIn(f"HEAD                 {shown['head']}\n", table)

    def test_an_edited_conclusion_tag_or_audit_record(self):
        s1 = "(SELECT id FROM session WHERE external_id = 's-1')"
        s2 = "(SELECT id FROM session WHERE external_id = 's-2')"
        user = self.sandbox.rows("SELECT \"user\" FROM audit WHERE id = 3")[0][0]
        via = self.sandbox.rows(f"SELECT via FROM conclusion WHERE session_id = {s1}")[0][0]
        # Each change, the statement that undoes it, and the record it breaks.
        for change, undo, record in (
            (f"UPDATE conclusion SET via = 'alice' WHERE session_id = {s1}",
             f"UPDATE conclusion SET via = '{via}' WHERE session_id = {s1}", 'the conclusion of session "s-1"'),
            ("UPDATE conclusion_tag SET tag = 'VIP!'", "UPDATE conclusion_tag SET tag = 'vip'",
             'the conclusion of session "s-1"'),
            (f"UPDATE conclusion_code SET name = 'Sale' WHERE session_id = {s2}",
             f"UPDATE conclusion_code SET name = 'No sale' WHERE session_id = {s2}",
             'the conclusion of session "s-2"'),
            ("UPDATE session SET started_at = started_at - 3456000 WHERE external_id = 's-2'",
             "UPDATE session SET started_at = started_at + 3456000 WHERE external_id = 's-2'",
             'the conclusion of session "s-2"'),
            ("UPDATE session SET ended_at = ended_at + 60 WHERE external_id = 's-3'",
             "UPDATE session SET ended_at = ended_at - 60 WHERE external_id = 's-3'",
             'the end of concluded session "s-3"'),
            ("UPDATE audit SET \"user\" = 'mallory' WHERE id = 3",
             f"UPDATE audit SET \"user\" = '{user}' WHERE id = 3", "audit record 3"),
        ):
            with self.subTest(record=record, change=change):
                self.tamper(change, change)
                self.assert_break("edited", record)
                self.tamper(undo, undo)
                self.head()

    def test_a_deleted_record_or_entry(self):
        self.tamper("DELETE FROM audit WHERE id = 2", "DELETE FROM audit WHERE id = 2")
        self.assert_break("missing", "audit record 2")

    def test_a_deleted_entry_leaves_a_gap(self):
        self.tamper("DELETE FROM ledger WHERE position = 3", "DELETE FROM ledger WHERE position = 3")
        shown = self.assert_break("missing", "the entries at positions 3 to 3")
        self.assertEqual(shown["break_position"], 3)

    def test_an_inserted_record(self):
        s3 = self.sandbox.count("SELECT id FROM session WHERE external_id = 's-3'")
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER
                    + "s-4,Hotline,mia,inbound,2026-11-23T08:00:00Z,2026-11-23T08:05:00Z,accepted,\n")
        s4 = s3 + 1
        self.head()
        self.tamper(f"INSERT INTO conclusion VALUES ({s4}, 1795000000, 'mia', NULL, 1, 1, 0); "
                    f"INSERT INTO conclusion_code VALUES ({s4}, 1, 1, 'primary', 'Sale')",
                    f"INSERT INTO conclusion VALUES ({s4}, 1795000000, 'mia', NULL, 1, 1, 0); "
                    f"INSERT INTO conclusion_code VALUES ({s4}, 1, 1, 'primary', 'Sale')")
        shown = self.assert_break("inserted", 'the conclusion of session "s-4"')
        self.assertEqual(shown["break_position"], 0)  # outside the ledger

    def test_two_records_swapped(self):
        # Audit records 2 and 3 trade places: each keeps its content, under the other's id.
        self.tamper("UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; "
                    "UPDATE audit SET id = 3 WHERE id = -2",
                    "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; "
                    "UPDATE audit SET id = 3 WHERE id = -2")
        shown = self.assert_break("reordered", "audit record 2")
        self.assertIn("it holds the content chained at position 3", self.verify()[2])
        self.assertEqual(shown["break_position"], 2)

    def test_two_entries_swapped(self):
        self.tamper("UPDATE ledger SET position = -4 WHERE position = 4; "
                    "UPDATE ledger SET position = 4 WHERE position = 5; UPDATE ledger SET position = 5 WHERE position = -4",
                    "UPDATE ledger SET position = -4 WHERE position = 4; "
                    "UPDATE ledger SET position = 4 WHERE position = 5; UPDATE ledger SET position = 5 WHERE position = -4")
        self.assert_break("reordered", "audit record 5")

    def test_a_rewrite_with_every_hash_recomputed_is_caught_by_an_earlier_head(self):
        # An auditor keeps what the monthly report and the export printed.
        summary = os.path.join(self.sandbox.dir, "summary.csv")
        self.run_ok("report", "usage", "--month", "2026-11", "--format", "csv", "--summary", summary)
        export = os.path.join(self.sandbox.dir, "export")
        self.run_ok("report", "export", "--dir", export)
        earlier = self.head()
        with open(os.path.join(export, "manifest.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["ledger"], {"records": earlier["records"], "head": earlier["head"]})
        for proof in (("--head", earlier["head"]), ("--head", earlier["head"].upper()),
                      ("--head-file", summary), ("--head-file", os.path.join(export, "manifest.json"))):
            code, shown, err = self.verify(*proof)
            self.assertEqual((code, shown["known_head_position"]), (0, earlier["records"]), err)

        # Someone with the whole store in hand changes a conclusion and builds
        # the ledger afresh, as an upgrade from schema 6 would (schema 8's key
        # put back as it was, for its migration to run again): it verifies...
        # (and schema 9's to 17's objects dropped, for their migrations to run again too)
        self.tamper(ROLLUPS_DROPPED["sqlite"] + "DROP TABLE ou_retired; DROP TABLE service_retired; "
                    "DROP TABLE conclusion_default; DROP TABLE service_wrap_up; "
                    "DROP VIEW session_caller; DROP VIEW directory_country; DROP TABLE caller_number; "
                    "DROP TABLE ledger; DROP TABLE ledger_pending; "
                    "DROP TABLE directory_entry; DROP TABLE directory; DROP INDEX session_by_caller; "
                    "DROP TABLE session_context; DROP TABLE context_field; DROP TABLE session_times; "
                    "PRAGMA user_version = 6; "
                    "UPDATE conclusion_code SET name = 'Sale', code_id = 1 WHERE name = 'No sale'",
                    ROLLUPS_DROPPED["postgresql"] +
                    "DROP POLICY ou_remove ON ou; DROP POLICY service_remove ON service; "
                    "DROP FUNCTION session_of_retired_service(), nimbus_used_no_delete() CASCADE; "
                    "DROP FUNCTION nimbus_changed_since_creation(text, text); "
                    "DROP TABLE ou_retired, service_retired; "
                    "DROP TABLE conclusion_default, service_wrap_up; "
                    "DROP FUNCTION conclusion_default_with_its_conclusion(); "
                    "DROP VIEW session_caller, directory_country; DROP TABLE caller_number; "
                    "DROP TABLE ledger CASCADE; DROP FUNCTION ledger_appends_only(); "
                    "DROP TABLE ledger_pending, person_grant, person, role_rule CASCADE; "
                    "DROP TABLE directory_entry, directory CASCADE; "
                    "DROP TABLE session_context, context_field, session_times CASCADE; "
                    "DROP FUNCTION session_context_concluded_is_final(), context_field_is_kept(), "
                    "ou_with_context_no_delete(), session_times_concluded_is_final() CASCADE; "
                    "DROP INDEX session_by_caller; "
                    "DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname, tablename "
                    "FROM pg_policies WHERE schemaname = current_schema() LOOP "
                    "EXECUTE format('DROP POLICY %I ON %I', p.policyname, p.tablename); "
                    "END LOOP; END $$; "
                    "DROP FUNCTION nimbus_enforced(), nimbus_rule_roles(text), "
                    "nimbus_may_anywhere(text), nimbus_services(text), nimbus_ous(text), "
                    "nimbus_tenant_wide(text), nimbus_by_own_agent(text), "
                    "nimbus_writes_as(text, text), nimbus_may_conclude(bigint, text), "
                    "record_is_chained(), nimbus_chain_pending() CASCADE; "
                    "ALTER TABLE session DROP CONSTRAINT session_external_id_service_id_key, "
                    "ADD CONSTRAINT session_external_id_key UNIQUE (external_id); "
                    "UPDATE nimbus_codes_store SET schema_version = 6; "
                    "UPDATE conclusion_code SET name = 'Sale', code_id = 1 WHERE name = 'No sale'")
        self.run_ok("init")
        self.assertEqual(self.verify()[0], 0)
        # ... but the heads printed before are not part of its chain.
        for proof in (("--head", earlier["head"]), ("--head-file", summary),
                      ("--head-file", os.path.join(export, "manifest.json"))):
            code, shown, err = self.verify(*proof)
            self.assertEqual(code, 65, err)
            self.assertIn(f"head: {earlier['head']} is not part of this store's chain", err)
            self.assertEqual(shown["known_head_position"], None)

    def test_a_head_after_later_records_is_still_proven(self):
        earlier = self.head()
        self.run_ok("code", "create", "--type", "primary", "--name", "Later")
        code, shown, err = self.verify("--head", earlier["head"])
        self.assertEqual((code, shown["known_head_position"], shown["records"]),
                         (0, earlier["records"], earlier["records"] + 1), err)

    def test_heads_that_are_not_heads(self):
        self.assert_fails(64, "verify", "--head", "abc", stderr='"abc" is not a ledger head')
        empty = os.path.join(self.sandbox.dir, "empty.txt")
        with open(empty, "w", encoding="utf-8") as f:
            f.write("no head here\n")
        self.assert_fails(65, "verify", "--head-file", empty, stderr="holds no ledger head")
        self.assert_fails(66, "verify", "--head-file", os.path.join(self.sandbox.dir, "missing"))
        self.assert_fails(64, "verify", "--head", "0" * 64, "--head-file", empty)
        # A device that never ends is read up to a limit, not forever.
        self.assert_fails(65, "verify", "--head-file", "/dev/zero", stderr="/dev/zero is larger than 1048576 bytes")

    def test_a_store_without_its_ledger_table(self):
        if POSTGRESQL:
            POSTGRESQL.psql("DROP TABLE ledger CASCADE", self.sandbox.database())
        else:
            db = sqlite3.connect(self.sandbox.store, isolation_level=None)
            db.execute("DROP TABLE ledger")
            db.close()
        code, shown, err = self.verify()
        self.assertEqual((code, shown["guards"], shown["ledger"], shown["first_break"], shown["break_record"]),
                         (65, "broken", "broken", "missing", "the ledger"))
        self.assertIn("guards: table ledger is missing", err)
        self.assertIn("ledger: the ledger: missing (its table is gone)", err)
        self.assert_fails(78, "code", "create", "--type", "primary", "--name", "X", stderr="table ledger is missing")

    def test_a_dropped_trigger_and_a_changed_record_are_both_named(self):
        if POSTGRESQL:
            POSTGRESQL.psql("DROP TRIGGER conclusion_tag_is_final ON conclusion_tag; "
                            "UPDATE conclusion_tag SET tag = 'x'", self.sandbox.database())
            trigger = "trigger conclusion_tag_is_final on conclusion_tag is missing"
        else:
            db = sqlite3.connect(self.sandbox.store, isolation_level=None)
            db.executescript("DROP TRIGGER conclusion_tag_no_update; UPDATE conclusion_tag SET tag = 'x'")
            db.close()
            trigger = "trigger conclusion_tag_no_update on conclusion_tag is missing"
        code, shown, err = self.verify()
        self.assertEqual((code, shown["guards"], shown["ledger"]), (65, "broken", "broken"))
        self.assertIn(f"guards: {trigger}", err)
        self.assertIn('ledger: the conclusion of session "s-1": edited', err)

    def test_times_added_to_a_concluded_session_behind_the_tools_back_are_caught(self):
        added = "INSERT INTO session_times (session_id, talk_seconds) SELECT id, 60 FROM session WHERE external_id = 's-1'"
        if POSTGRESQL:
            POSTGRESQL.psql("DROP TRIGGER session_times_concluded_is_final ON session_times; " + added,
                            self.sandbox.database())
        else:
            db = sqlite3.connect(self.sandbox.store, isolation_level=None)
            db.executescript("DROP TRIGGER session_times_concluded_no_addition; " + added)
            db.close()
        code, shown, err = self.verify()
        self.assertEqual((code, shown["ledger"]), (65, "broken"))
        self.assertIn('ledger: the conclusion of session "s-1": edited', err)

    def test_an_agents_conclusion_marked_as_a_sweeps_behind_the_tools_back_is_caught(self):
        marked = "INSERT INTO conclusion_default SELECT id, 0 FROM session WHERE external_id = 's-1'"
        if POSTGRESQL:
            POSTGRESQL.psql("DROP TRIGGER conclusion_default_with_its_conclusion ON conclusion_default; "
                            + marked, self.sandbox.database())
        else:
            db = sqlite3.connect(self.sandbox.store, isolation_level=None)
            db.executescript("DROP TRIGGER conclusion_default_with_its_conclusion; " + marked)
            db.close()
        code, shown, err = self.verify()
        self.assertEqual((code, shown["ledger"]), (65, "broken"))
        self.assertIn('ledger: the conclusion of session "s-1": edited', err)


if __name__ == "__main__":
    main()
