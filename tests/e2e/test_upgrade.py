"""Upgrading a store made by an older nimbus-codes."""

import os
import shutil

from harness import ROOT, SCHEMA_VERSION, NimbusTestCase, main


class UpgradeTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        shutil.copy(os.path.join(ROOT, "tests", "data", "store-v1.db"), self.sandbox.store)

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
