"""Organization units."""

from harness import NimbusTestCase, main


class OuTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()

    def paths(self, *extra):
        return [ou["path"] for ou in self.json_ok("ou", "list", *extra)]

    def test_create_needs_parent_unless_parents(self):
        self.assert_fails(3, "ou", "create", "Contoso/Sales/EMEA", stderr='OU "Contoso/Sales" does not exist')
        self.assertEqual(self.paths(), ["Contoso"])
        result = self.run_ok("ou", "create", "Contoso/Sales/EMEA", "--parents")
        self.assertIn('created OU "Contoso/Sales"', result.err)
        self.assertIn('created OU "Contoso/Sales/EMEA"', result.err)
        self.assertEqual(self.paths(), ["Contoso", "Contoso/Sales", "Contoso/Sales/EMEA"])

    def test_create_is_idempotent_and_case_insensitive(self):
        self.run_ok("ou", "create", "Contoso/Sales")
        again = self.run_ok("ou", "create", "contoso/SALES")
        self.assertIn('unchanged: OU "Contoso/Sales" exists', again.err)
        self.assertEqual(self.paths(), ["Contoso", "Contoso/Sales"])

    def test_output_fields(self):
        created = self.json_ok("ou", "create", "Contoso/Sales")
        self.assertEqual(created, {"id": 2, "path": "Contoso/Sales", "name": "Sales", "parent": "Contoso",
                                   "created_at": "2026-11-26T09:30:00Z", "retired_at": None})

    def test_bad_paths(self):
        self.assert_fails(65, "ou", "create", "Fabrikam/Sales", stderr='does not start at the tenant root "Contoso"')
        self.assert_fails(65, "ou", "create", "Contoso//Sales", stderr="empty component")
        self.assert_fails(65, "ou", "create", "Contoso/" + "x" * 65, stderr="limit is 64")

    def test_roles(self):
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("ou", "create", "Contoso/Support")
        self.run_ok("ou", "create", "Contoso/Sales/EMEA", "--as", "sam")
        self.assertIn("unchanged", self.run_ok("ou", "create", "Contoso/Sales", "--as", "sam").err)
        self.assert_fails(77, "ou", "create", "Contoso/Marketing", "--as", "sam",
                          stderr='may not create, retire, restore or delete OUs in OU "Contoso"')
        self.assert_fails(77, "ou", "create", "Contoso/Support/Desk", "--as", "sam")
        for user in ("olga", "sue", "mia"):
            self.assert_fails(77, "ou", "create", "Contoso/Sales/X", "--as", user)
        self.assert_fails(77, "ou", "list", "--as", "mia")
        self.assertEqual(len(self.paths("--as", "sue")), 4)


if __name__ == "__main__":
    main()
