"""The code catalogue: create, list, show, edit, delete, names and roles."""

from harness import LOGIN, NimbusTestCase, main


class CodesTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        self.run_ok("ou", "create", "Contoso/Sales/EMEA", "--parents")
        self.run_ok("ou", "create", "Contoso/Support")

    def create(self, *args):
        return self.run_ok("code", "create", *args, "--format", "json").json()

    def snapshot(self):
        """Everything a failed command must leave as it was."""
        return (
            self.run_ok("code", "list", "--include-deleted", "--format", "json").out,
            self.run_ok("audit", "list", "--format", "json").out,
        )

    def test_create_list_show(self):
        sale = self.create("--type", "primary", "--name", "Sale", "--description", "Customer bought")
        self.assertEqual(
            sale,
            {
                "id": 1,
                "type": "primary",
                "name": "Sale",
                "ou": "Contoso",
                "description": "Customer bought",
                "created_at": "2026-11-26T09:30:00Z",
                "deleted_at": None,
            },
        )
        self.create("--type", "secondary", "--name", "Follow-up", "--ou", "Contoso/Sales")
        listed = self.json_ok("code", "list")
        self.assertEqual([(c["type"], c["name"], c["ou"]) for c in listed],
                         [("primary", "Sale", "Contoso"), ("secondary", "Follow-up", "Contoso/Sales")])
        self.assertEqual([c["name"] for c in self.json_ok("code", "list", "--type", "secondary")], ["Follow-up"])
        self.assertEqual(self.json_ok("code", "show", "sale")["id"], 1)
        self.assertEqual(self.json_ok("code", "show", "id:2")["name"], "Follow-up")
        table = self.run_ok("code", "list").out.splitlines()
        self.assertTrue(table[0].startswith("ID  TYPE"))
        self.assertIn("Customer bought", table[1])

    def test_create_reports_on_stderr(self):
        result = self.run_ok("code", "create", "--type", "primary", "--name", "Sale")
        self.assertIn('created primary code "Sale" (id:1) in OU "Contoso"', result.err)

    def test_identical_create_is_unchanged_other_fields_conflict(self):
        self.create("--type", "primary", "--name", "Sale", "--description", "Bought")
        before = self.snapshot()
        again = self.run_ok("code", "create", "--type", "primary", "--name", "Sale", "--description", "Bought")
        self.assertIn("unchanged", again.err)
        self.assertEqual(self.snapshot(), before)
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "Sale", "--description", "Other",
                          stderr='a primary code named "Sale" already exists in OU "Contoso" (id:1)')
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "SALE", "--description", "Bought")
        self.assertEqual(self.snapshot(), before)

    def test_name_rules(self):
        before = self.snapshot()
        self.assert_fails(65, "code", "create", "--type", "primary", "--name", "x" * 65,
                          stderr="is 65 characters long; the limit is 64")
        self.assert_fails(65, "code", "create", "--type", "primary", "--name", "   ", stderr="code name is empty")
        self.assert_fails(65, "code", "create", "--type", "primary", "--name", "Sa\tle", stderr="control character")
        self.assert_fails(65, "code", "create", "--type", "primary", "--name", "Bell\x07", stderr="control character")
        self.assert_fails(65, "code", "create", "--type", "primary", "--name", "Sale", "--description", "d" * 501,
                          stderr="the limit is 500")
        for reserved in ("id:7", "ID:7", "Id:Sale"):
            self.assert_fails(65, "code", "create", "--type", "primary", "--name", reserved,
                              stderr=f'code name "{reserved}" begins with "{reserved[:3]}"')
        for invisible in ("\u200bSale", "Sa\u202ele", "\ufeffSale"):  # zero-width, bidi override, BOM
            result = self.assert_fails(65, "code", "create", "--type", "primary", "--name", invisible)
            self.assertRegex(result.err, "control character|invisible character U[+]")
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.create("--type", "primary", "--name", "ü" * 64)["name"], "ü" * 64)
        self.assertEqual(self.create("--type", "primary", "--name", "  Trimmed  ")["name"], "Trimmed")

    def test_unicode_names(self):
        self.assertEqual(self.create("--type", "primary", "--name", "Rückruf")["name"], "Rückruf")
        self.assertEqual(self.create("--type", "secondary", "--name", "折り返し")["name"], "折り返し")
        # Decomposed and upper-case spellings are the same name.
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "RU\u0308CKRUF")
        self.assertEqual(self.json_ok("code", "show", "rückruf")["name"], "Rückruf")
        self.assertEqual(self.json_ok("code", "show", "折り返し")["type"], "secondary")

    def test_uniqueness_along_an_ou_path(self):
        self.create("--type", "primary", "--name", "Callback", "--ou", "Contoso/Sales")
        self.create("--type", "primary", "--name", "Callback", "--ou", "Contoso/Support")
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "callback", "--ou", "Contoso")
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "Callback", "--ou", "Contoso/Sales/EMEA")
        self.create("--type", "secondary", "--name", "Callback", "--ou", "Contoso")

    def test_ambiguous_names_list_candidates(self):
        self.create("--type", "primary", "--name", "Callback", "--ou", "Contoso/Sales")
        self.create("--type", "primary", "--name", "Callback", "--ou", "Contoso/Support")
        result = self.assert_fails(64, "code", "show", "Callback", stderr='code name "Callback" is ambiguous')
        self.assertIn("id:1 (primary, Contoso/Sales)", result.err)
        self.assertIn("id:2 (primary, Contoso/Support)", result.err)
        self.assertEqual(self.json_ok("code", "show", "Callback", "--ou", "Contoso/Support")["id"], 2)
        self.assertEqual(self.json_ok("code", "show", "id:1")["ou"], "Contoso/Sales")

    def test_not_found(self):
        self.assert_fails(3, "code", "show", "Nothing", stderr='there is no code named "Nothing"')
        self.assert_fails(3, "code", "show", "id:42", stderr="there is no code with id 42")
        self.assert_fails(3, "code", "create", "--type", "primary", "--name", "X", "--ou", "Contoso/Nowhere",
                          stderr='OU "Contoso/Nowhere" does not exist')

    def test_edit(self):
        self.create("--type", "primary", "--name", "Sale")
        self.create("--type", "primary", "--name", "Lead")
        edited = self.json_ok("code", "edit", "Sale", "--name", "Sales", "--description", "Closed a deal")
        self.assertEqual((edited["name"], edited["description"]), ("Sales", "Closed a deal"))
        self.assertIn("unchanged", self.run_ok("code", "edit", "Sales", "--name", "Sales").err)
        self.assert_fails(4, "code", "edit", "Sales", "--name", "lead", stderr='named "Lead" already exists')
        self.assert_fails(64, "code", "edit", "Sales", stderr="nothing to change")
        self.assert_fails(65, "code", "edit", "Sales", "--name", "")

    def test_delete_retires(self):
        self.create("--type", "primary", "--name", "Sale")
        deleted = self.json_ok("code", "delete", "Sale")
        self.assertEqual(deleted["deleted_at"], "2026-11-26T09:30:00Z")
        self.assertEqual(self.json_ok("code", "list"), [])
        self.assertEqual([c["name"] for c in self.json_ok("code", "list", "--include-deleted")], ["Sale"])
        self.assertIn("unchanged", self.run_ok("code", "delete", "Sale").err)
        self.assert_fails(4, "code", "edit", "Sale", "--name", "X", stderr="is deleted")
        # The name is free again; the old code stays reachable by id.
        self.assertEqual(self.create("--type", "primary", "--name", "Sale")["id"], 2)
        self.assertEqual(self.json_ok("code", "show", "Sale")["id"], 2)
        self.assertEqual(self.json_ok("code", "show", "id:1")["deleted_at"], "2026-11-26T09:30:00Z")

    def test_list_at_an_ou(self):
        self.create("--type", "primary", "--name", "Everywhere")
        self.create("--type", "primary", "--name", "Sales only", "--ou", "Contoso/Sales")
        self.create("--type", "primary", "--name", "Support only", "--ou", "Contoso/Support")
        names = [c["name"] for c in self.json_ok("code", "list", "--ou", "Contoso/Sales/EMEA")]
        self.assertEqual(names, ["Everywhere", "Sales only"])

    def test_roles(self):
        before = self.snapshot()
        # Members and supervisors may not change codes; members may not even read them.
        for user in ("mia", "sue", "olga"):
            self.assert_fails(77, "code", "create", "--type", "primary", "--name", "X", "--as", user,
                              stderr=f"{user} via {LOGIN} may not change codes")
        self.assert_fails(77, "code", "list", "--as", "mia", stderr="may not read the code catalogue")
        # An OU admin works inside their subtree only.
        self.assert_fails(77, "code", "create", "--type", "primary", "--name", "X", "--as", "sam",
                          stderr='may not change codes in OU "Contoso"')
        self.assert_fails(77, "code", "create", "--type", "primary", "--name", "X", "--ou", "Contoso/Support",
                          "--as", "sam")
        self.assertEqual(self.snapshot(), before)
        lead = self.json_ok("code", "create", "--type", "primary", "--name", "Lead", "--ou", "Contoso/Sales/EMEA",
                            "--as", "sam")
        self.assertEqual(lead["ou"], "Contoso/Sales/EMEA")
        self.run_ok("code", "edit", "Lead", "--description", "Warm lead", "--as", "sam")
        # Supervisors and owners read the catalogue.
        self.assertEqual(len(self.json_ok("code", "list", "--as", "sue")), 1)
        self.assertEqual(len(self.json_ok("code", "list", "--as", "olga")), 1)
        # The OU admin cannot touch codes above their OU.
        self.create("--type", "primary", "--name", "Sale")
        self.assert_fails(77, "code", "delete", "Sale", "--as", "sam")
        self.assert_fails(77, "code", "edit", "Sale", "--name", "X", "--as", "sam")

    def test_roles_without_as(self):
        # The same rules hold for an OS account that is itself an OU admin.
        self.sandbox.write_identity({LOGIN: {"name": "Runner", "ou_admin": ["Contoso/Sales"]}})
        self.run_ok("code", "create", "--type", "primary", "--name", "Lead", "--ou", "Contoso/Sales")
        self.assert_fails(77, "code", "create", "--type", "primary", "--name", "X", stderr=f"{LOGIN} may not")
        self.sandbox.write_identity({LOGIN: {"name": "Runner", "member": ["Hotline"]}})
        self.assert_fails(77, "code", "list")


if __name__ == "__main__":
    main()
