"""Upgrading a store made by an older nimbus-codes: from schema 1 (a catalogue),
from schema 4 (sessions, conclusions, a call ended after its conclusion) and
from schema 7 (the same with the ledger, before session ids were unique per
service), on both engines. tests/data/README.md says how each store was made."""

import os
import shutil
import sqlite3

from harness import CAST, NimbusTestCase, POSTGRESQL, ROOT, SCHEMA_VERSION, main

STORE_V1 = os.path.join(ROOT, "tests", "data", "store-v1.db")
STORE_V4 = os.path.join(ROOT, "tests", "data", "store-v4.db")
STORE_V7 = os.path.join(ROOT, "tests", "data", "store-v7.db")
# The tables of each store, referenced tables first, and those with an identity column.
V1_TABLES = ("ou", "code", "audit")
V4_TABLES = ("ou", "code", "service", "service_code", "service_extension", "session", "conclusion",
             "conclusion_code", "conclusion_tag", "audit")
V7_TABLES = V4_TABLES + ("ledger",)
IDENTITIES = ("ou", "code", "service", "session", "audit")


def make_store(sandbox, source, version, tables):
    """The SQLite store `source` as the sandbox's store: copied, or on
    PostgreSQL made from the migrations up to `version` and filled with its rows."""
    if not POSTGRESQL:
        shutil.copy(source, sandbox.store)
        return
    database = sandbox.store.rsplit("/", 1)[1]
    for name in sorted(os.listdir(os.path.join(ROOT, "schema", "postgresql"))):
        if name.endswith(".sql") and int(name.split("_", 1)[0]) <= version:
            with open(os.path.join(ROOT, "schema", "postgresql", name), encoding="utf-8") as f:
                POSTGRESQL.psql(f.read(), database, as_admin=False)
    db = sqlite3.connect(source)
    dump = list(db.iterdump())
    db.close()
    rows = [line for table in tables for line in dump if line.startswith(f'INSERT INTO "{table}"')]
    # Rows with their ids leave the identity sequences behind: move them on.
    sequences = [f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}));"
                 for table in tables if table in IDENTITIES]
    POSTGRESQL.psql("\n".join(["BEGIN;", f"INSERT INTO nimbus_codes_store VALUES (1, 1313031251, {version});",
                               *rows, *sequences, "COMMIT;"]), database, as_admin=False)


class UpgradeFromSchema1Test(NimbusTestCase):
    def setUp(self):
        super().setUp()
        make_store(self.sandbox, STORE_V1, 1, V1_TABLES)

    def test_older_store_needs_init_then_keeps_everything(self):
        self.assert_fails(78, "code", "list", stderr="has schema version 1")
        result = self.run_ok("init", "--format", "json")
        self.assertEqual(result.json()["previous_schema_version"], 1)
        self.assertEqual(result.json()["schema_version"], SCHEMA_VERSION)
        self.assertIn(f"migrated store {self.sandbox.store} from schema 1 to {SCHEMA_VERSION}", result.err)
        codes = self.json_ok("code", "list", "--include-deleted")
        self.assertEqual([(c["name"], c["deleted_at"] is not None) for c in codes],
                         [("No sale", False), ("Old", True), ("Sale", False), ("Rückruf", False)])
        self.assertEqual(codes[2]["created_at"], "2026-01-15T08:00:00Z")
        # Its 7 audit records, and the upgrade's own, which chained them.
        self.assertEqual([e["action"] for e in self.json_ok("audit", "list")][6:], ["code.delete", "store.ledger"])
        self.assertEqual(self.json_ok("verify")["records"], 8)
        # The new schema works on the old data.
        self.run_ok("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,No sale", "--secondary", "Rückruf")
        self.assertIn("unchanged", self.run_ok("init").err)
        self.assertEqual(self.json_ok("verify")["records"], 10)


class UpgradeFromSchema4Test(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, root={"name": "Ada Admin", "tenant_admin": True}))
        make_store(self.sandbox, STORE_V4, 4, V4_TABLES)

    def what_people_see(self):
        return ([(s["id"], s["concluded"], s["ended_at"], [c["name"] for c in s["codes"]], s["tags"])
                 for s in (self.json_ok("session", "show", f"s-{i}") for i in range(1, 5))],
                self.run_ok("report", "usage", "--month", "2026-10", "--by", "code", "--format", "csv").out)

    def test_sessions_and_conclusions_survive_and_are_chained(self):
        self.assert_fails(78, "session", "list", stderr="has schema version 4")
        result = self.run_ok("init")
        self.assertIn(f"migrated store {self.sandbox.store} from schema 4 to {SCHEMA_VERSION}", result.err)
        self.assertIn("chained its permanent records into the ledger", result.err)
        sessions, report = self.what_people_see()
        self.assertEqual(sessions, [
            ("s-1", True, "2026-10-01T07:05:00Z", ["Sale"], ["vip"]),
            ("s-2", True, "2026-10-01T07:20:00Z", ["No_sale", "Upsell"], ["call back", "vip"]),
            ("s-3", False, "2026-10-01T07:31:00Z", [], []),
            ("s-4", True, "2026-10-01T08:40:00Z", ["Sale"], []),
        ])
        self.assertIn("Sale,1,2,", report)
        # The upgrade built the rollups from the sessions: the report read them, and a
        # recount gives the same.
        self.assertEqual(self.sandbox.rows("SELECT session_id FROM usage_settled"), [("4",)])
        self.assertEqual(self.sandbox.rows("SELECT name, sessions FROM usage_codes WHERE span = 86400 "
                                           "ORDER BY name"),
                         [("No_sale", "1"), ("Sale", "2"), ("Upsell", "1")])
        self.assertEqual(self.run_ok("report", "usage", "--month", "2026-10", "--by", "code", "--format", "csv",
                                     "--recount").out, report)
        # Three conclusions and 14 audit records, in the order they were
        # written, then the upgrade's audit record.
        verified = self.json_ok("verify")
        self.assertEqual((verified["ledger"], verified["records"]), ("ok", 18))
        kinds = self.sandbox.rows("SELECT kind, record_id FROM ledger ORDER BY position")
        self.assertEqual(kinds[9:12], [("conclusion", "1"), ("audit", "10"), ("conclusion", "2")])
        self.assertEqual(kinds[-1], ("audit", "15"))
        upgrade = self.json_ok("audit", "list")[-1]
        self.assertEqual((upgrade["action"], upgrade["after"]["chained_records"]), ("store.ledger", 17))

        # The chained records are guarded like new ones: a change shows.
        self.run_ok("session", "conclude", "s-3", "--primary", "Sale", "--as", "mia")
        self.assertEqual(self.json_ok("verify")["records"], 20)
        self.assertEqual(self.what_people_see()[0][2][1], True)
        # An up-to-date store is not chained again.
        self.assertNotIn("chained", self.run_ok("init").err)
        self.assertEqual(self.json_ok("verify")["records"], 20)


class UpgradeFromSchema7Test(NimbusTestCase):
    HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"

    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, root={"name": "Ada Admin", "tenant_admin": True}))
        make_store(self.sandbox, STORE_V7, 7, V7_TABLES)

    def test_every_session_is_kept_and_ids_become_unique_per_service(self):
        sessions = "SELECT * FROM session ORDER BY id"
        before = self.sandbox.rows(sessions)
        self.assertEqual([row[1] for row in before], ["s-1", "s-2", "s-3", "d-1"])
        self.assert_fails(78, "session", "list", stderr="has schema version 7")
        result = self.run_ok("init")
        self.assertIn(f"migrated store {self.sandbox.store} from schema 7 to {SCHEMA_VERSION}", result.err)
        self.assertNotIn("chained", result.err)  # its records are chained already
        # Every session, with its id (which conclusions and the ledger name), as it was.
        self.assertEqual(self.sandbox.rows(sessions), before)
        shown = [self.json_ok("session", "show", i) for i in ("s-1", "s-2", "s-3", "d-1")]
        self.assertEqual([(s["service"], s["concluded"], s["ended_at"], [c["name"] for c in s["codes"]], s["tags"])
                          for s in shown],
                         [("Hotline", True, "2026-10-05T09:05:00Z", ["Sale", "Upsell"], ["vip"]),
                          ("Hotline", True, "2026-10-05T10:30:00Z", ["No sale"], ["call back"]),
                          ("Hotline", False, "2026-10-05T09:21:00Z", [], []),
                          ("Desk", True, "2026-10-05T09:40:00Z", ["Sale"], [])])
        verified = self.json_ok("verify")
        self.assertEqual((verified["guards"], verified["ledger"], verified["records"]), ("ok", "ok", 20))

        # The new key: the same id in another service is another session...
        imported = self.run_ok("session", "import", "-", "--input-format", "csv", stdin=self.HEADER
                               + "s-1,Desk,olga,inbound,2026-10-06T09:00:00Z,,,\n"
                               + "s-1,Hotline,mia,inbound,2026-10-05T09:00:00Z,2026-10-05T09:05:00Z,accepted,"
                               + "+41 44 555 00 01\n")
        self.assertIn("2 rows: 1 new, 0 completed, 1 unchanged", imported.err)
        self.assert_fails(64, "session", "show", "s-1", stderr="Desk/s-1, Hotline/s-1")
        self.run_ok("session", "conclude", "Desk/s-1", "--primary", "Sale")
        self.assertEqual(self.json_ok("session", "show", "Desk/s-1")["user"], "olga")
        # ... and a second one with the same service and id is refused by the store itself.
        for service in ("Hotline", "Desk"):
            refused = self.sandbox.refuses(
                "INSERT INTO session (external_id, service_id, \"user\", direction, started_at) "
                f"SELECT 's-3', id, 'mia', 'inbound', 0 FROM service WHERE name = '{service}'")
            self.assertEqual(refused, service == "Hotline", service)
        self.assertEqual(self.json_ok("verify")["ledger"], "ok")


if __name__ == "__main__":
    main()
