"""Upgrading a store made by an older nimbus-codes."""

import os
import shutil
import sqlite3

from harness import NimbusTestCase, POSTGRESQL, ROOT, SCHEMA_VERSION, main

STORE_V1 = os.path.join(ROOT, "tests", "data", "store-v1.db")


def make_postgresql_v1_store(sandbox):
    """The same store on PostgreSQL: schema 1 from its migration, then the rows of store-v1.db."""
    database = sandbox.store.rsplit("/", 1)[1]
    with open(os.path.join(ROOT, "schema", "postgresql", "0001_foundation.sql"), encoding="utf-8") as f:
        POSTGRESQL.psql(f.read(), database, as_admin=False)
    source = sqlite3.connect(STORE_V1)
    dump = list(source.iterdump())
    rows = [line for table in ("ou", "code", "audit") for line in dump
            if line.startswith(f'INSERT INTO "{table}"')]
    source.close()
    # Rows with their ids leave the identity sequences behind: move them on.
    sequences = [f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}));"
                 for table in ("ou", "code", "audit")]
    POSTGRESQL.psql("\n".join(["BEGIN;", "INSERT INTO nimbus_codes_store VALUES (1, 1313031251, 1);",
                               *rows, *sequences, "COMMIT;"]), database, as_admin=False)


class UpgradeTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        if POSTGRESQL:
            make_postgresql_v1_store(self.sandbox)
        else:
            shutil.copy(STORE_V1, self.sandbox.store)

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
        self.assertEqual(len(self.json_ok("audit", "list")), 7)
        # The new schema works on the old data.
        self.run_ok("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,No sale", "--secondary", "Rückruf")
        self.assertIn("unchanged", self.run_ok("init").err)


if __name__ == "__main__":
    main()
