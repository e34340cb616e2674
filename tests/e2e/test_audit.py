"""The audit trail."""

from harness import ENGINE, LOGIN, NimbusTestCase, main


class AuditTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()

    def test_every_change_is_recorded_with_before_and_after(self):
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        self.run_ok("code", "edit", "Sale", "--name", "Sales")
        self.run_ok("code", "delete", "Sales")
        entries = self.json_ok("audit", "list")
        self.assertEqual([e["action"] for e in entries],
                         ["ou.create", "ou.create", "code.create", "code.edit", "code.delete"])
        edit = entries[3]
        self.assertEqual(edit["user"], LOGIN)
        self.assertIsNone(edit["via"])
        self.assertEqual(edit["at"], "2026-11-26T09:30:00Z")
        self.assertEqual(edit["target"], "code id:1")
        self.assertEqual(edit["ou"], "Contoso")
        self.assertEqual(edit["before"]["name"], "Sale")
        self.assertEqual(edit["after"]["name"], "Sales")
        self.assertIsNone(entries[2]["before"])
        self.assertEqual(entries[4]["after"]["deleted_at"], "2026-11-26T09:30:00Z")
        table = self.run_ok("audit", "list").out
        self.assertIn("name: Sale -> Sales", table)

    def test_acting_as_is_recorded(self):
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("code", "create", "--type", "primary", "--name", "Lead", "--ou", "Contoso/Sales", "--as", "sam")
        last = self.json_ok("audit", "list")[-1]
        self.assertEqual((last["user"], last["via"]), ("sam", LOGIN))
        self.assertIn(f"sam via {LOGIN}", self.run_ok("audit", "list").out)

    def test_unchanged_and_failed_commands_record_nothing(self):
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        count = len(self.json_ok("audit", "list"))
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        self.run_cli("code", "create", "--type", "primary", "--name", "Sale", "--description", "x")
        self.run_cli("code", "create", "--type", "primary", "--name", "")
        self.run_cli("code", "create", "--type", "primary", "--name", "X", "--as", "mia")
        self.assertEqual(len(self.json_ok("audit", "list")), count)

    def test_filters(self):
        self.run_ok("code", "create", "--type", "primary", "--name", "Old", env={"NIMBUS_CODES_NOW": "2026-10-01T08:00:00Z"})
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("code", "create", "--type", "primary", "--name", "New", "--ou", "Contoso/Sales", "--as", "sam")
        since = self.json_ok("audit", "list", "--since", "2026-11-01")
        # The tenant root, created by init at the fixed time, is the first of them.
        self.assertEqual([e["action"] for e in since], ["ou.create", "ou.create", "code.create"])
        self.assertEqual(len(self.json_ok("audit", "list", "--since", "2026-11-26T10:30:00+01:00")), 3)
        self.assertEqual(len(self.json_ok("audit", "list", "--since", "2026-11-26T09:30:01Z")), 0)
        self.assertEqual(self.json_ok("audit", "list", "--since", "2026-11-27"), [])
        by_sam = self.json_ok("audit", "list", "--actor", "sam")
        self.assertEqual([e["after"]["name"] for e in by_sam], ["New"])
        self.assertEqual(len(self.json_ok("audit", "list", "--actor", LOGIN)), 4)
        self.assert_fails(64, "audit", "list", "--since", "yesterday", stderr="is not a date or time")

    def test_scope_and_roles(self):
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("ou", "create", "Contoso/Support")
        self.run_ok("code", "create", "--type", "primary", "--name", "A", "--ou", "Contoso/Sales")
        self.run_ok("code", "create", "--type", "primary", "--name", "B", "--ou", "Contoso/Support")
        self.run_ok("ou", "create", "Contoso/Sales/EMEA")
        # An OU's creation is filed under the OU it was created in: Sam, admin
        # of Contoso/Sales, reads EMEA's but not his own OU's.
        seen = self.json_ok("audit", "list", "--as", "sam")
        self.assertEqual([(e["action"], e["target"], e["ou"]) for e in seen],
                         [("code.create", "code id:1", "Contoso/Sales"),
                          ("ou.create", "ou Contoso/Sales/EMEA", "Contoso/Sales")])
        for user in ("olga", "sue", "mia"):
            self.assert_fails(77, "audit", "list", "--as", user, stderr="may not read the audit trail")

    def test_raw_sql_cannot_rewrite_history(self):
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        statements = ["UPDATE audit SET \"user\" = 'mallory'", "DELETE FROM audit", "DELETE FROM code"]
        if ENGINE == "postgresql":
            statements += ["TRUNCATE audit", "TRUNCATE code CASCADE",
                           "INSERT INTO audit SELECT * FROM audit ON CONFLICT (id) DO UPDATE SET action = 'x'"]
        else:
            statements += ["INSERT OR REPLACE INTO audit SELECT * FROM audit"]
        for statement in statements:
            self.assertTrue(self.sandbox.refuses(statement), statement)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM audit WHERE action = 'code.create'"), 1)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM code"), 1)


if __name__ == "__main__":
    main()
