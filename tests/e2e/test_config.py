"""Configuration as code: config export, plan and apply."""

import os
import subprocess

from harness import BINARY, COMMAND, NimbusTestCase, main

SETUP = [
    ("ou", "create", "Contoso/Sales/EMEA", "--parents"),
    ("code", "create", "--type", "primary", "--name", "Sale", "--description", 'The "customer" bought'),
    ("code", "create", "--type", "primary", "--name", "No sale"),
    ("code", "create", "--type", "secondary", "--name", "Rückruf", "--ou", "Contoso/Sales"),
    ("code", "create", "--type", "primary", "--name", "折り返し", "--ou", "Contoso/Sales/EMEA"),
    ("code", "create", "--type", "primary", "--name", "Retired"),
    ("code", "delete", "Retired"),
    ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
    ("service", "apply", "Hotline", "--primary", "No sale,Sale", "--secondary", "Rückruf"),
    ("extension", "enable", "Hotline", "codes-and-tags", "session-details"),
    ("service", "create", "EMEA Line", "--ou", "Contoso/Sales/EMEA", "--license", "basic-routing"),
    ("service", "apply", "EMEA Line", "--primary", "折り返し,Sale"),
]


class ConfigTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        for command in SETUP:
            self.run_ok(*command)

    def export(self, *args):
        return self.run_ok("config", "export", *args).out

    def fresh_store(self, name):
        path = os.path.join(self.sandbox.dir, name)
        self.run_ok("init", "--tenant", "Contoso", "--store", path)
        return path

    def test_export_is_stable_toml(self):
        text = self.export()
        self.assertEqual(text, self.export())
        self.assertIn('tenant = "Contoso"', text)
        self.assertIn('ous = [\n  "Contoso/Sales",\n  "Contoso/Sales/EMEA",\n]', text)
        self.assertIn('name = "Sale"\nou = "Contoso"\ndescription = "The \\"customer\\" bought"', text)
        self.assertNotIn("Retired", text)
        self.assertIn('primary = ["No sale", "Sale"]\nsecondary = ["Rückruf"]\n'
                      'extensions = { codes-and-tags = true, caller-information = false, '
                      'conversation-context = false, session-details = true }', text)

    def test_round_trip_through_a_fresh_store(self):
        text = self.export()
        path = self.write("contoso.toml", text)
        other = self.fresh_store("other.db")
        self.run_ok("config", "apply", path, "--store", other)
        self.assertEqual(self.run_ok("config", "export", "--store", other).out, text)
        again = self.run_ok("config", "apply", path, "--store", other)
        self.assertEqual(again.out, "")
        self.assertIn("no changes", again.err)

    def test_scoped_export(self):
        text = self.export("--ou", "Contoso/Sales/EMEA")
        self.assertIn('scope = "Contoso/Sales/EMEA"', text)
        self.assertIn('name = "EMEA Line"', text)
        self.assertNotIn('name = "Hotline"', text)
        self.assertIn('primary = ["折り返し", "Sale"]', text)  # Sale comes from above the scope
        self.assertEqual(self.run_ok("config", "plan", self.write("emea.toml", text)).out, "")

    def test_plan_shows_create_edit_reorder_and_prune(self):
        text = self.export()
        text = text.replace('description = "The \\"customer\\" bought"', 'description = "Bought"')
        text = text.replace('primary = ["No sale", "Sale"]', 'primary = ["Sale", "No sale"]')
        text = text.replace('[[codes]]\ntype = "primary"\nname = "No sale"',
                            '[[codes]]\ntype = "primary"\nname = "Lead"\nou = "Contoso/Sales"\n\n'
                            '[[codes]]\ntype = "primary"\nname = "No sale"')
        text = text.replace('[[codes]]\ntype = "primary"\nname = "折り返し"\nou = "Contoso/Sales/EMEA"\n\n', "")
        text = text.replace('primary = ["折り返し", "Sale"]', 'primary = ["Sale"]')
        path = self.write("changed.toml", text)
        before = self.export()
        plan = self.run_ok("config", "plan", path, "--prune")
        self.assertEqual(plan.out.splitlines(), [
            '+ code primary "Lead" in Contoso/Sales',
            '~ code primary "Sale" in Contoso: description "The "customer" bought" -> "Bought"',
            '~ service "EMEA Line": primary list: 折り返し, Sale -> Sale',
            '~ service "Hotline": primary list reordered: No sale, Sale -> Sale, No sale',
            '- code primary "折り返し" in Contoso/Sales/EMEA',
        ])
        self.assertIn("plan: 1 to add, 3 to change, 1 to delete", plan.err)
        self.assertEqual(self.export(), before)  # a plan changes nothing
        detailed = self.run_cli("config", "plan", path, "--detailed-exitcode")
        self.assertEqual(detailed.code, 2, repr(detailed))
        rows = self.json_ok("config", "plan", path)
        self.assertEqual(rows[0], {"change": "+", "kind": "code", "target": 'primary "Lead" in Contoso/Sales',
                                   "detail": ""})
        dry = self.run_ok("config", "apply", path, "--prune", "--dry-run")
        self.assertEqual(dry.out, plan.out)
        self.assertEqual(self.export(), before)
        applied = self.run_ok("config", "apply", path, "--prune")
        self.assertEqual(applied.out, plan.out)
        self.assertEqual(self.run_ok("config", "plan", path, "--prune", "--detailed-exitcode").out, "")
        self.assertEqual(self.json_ok("code", "show", "id:4")["deleted_at"], "2026-11-26T09:30:00Z")

    def test_retired_services_and_ous_round_trip_and_prune_retires(self):
        self.run_ok("service", "retire", "EMEA Line")
        self.run_ok("ou", "retire", "Contoso/Sales/EMEA")
        text = self.export()
        self.assertIn('ous = [\n  "Contoso/Sales",\n]\nretired_ous = [\n  "Contoso/Sales/EMEA",\n]\n', text)
        self.assertIn('primary = ["折り返し", "Sale"]\nsecondary = []\nextensions = { codes-and-tags = false, '
                      'caller-information = false, conversation-context = false, session-details = false }\n'
                      'retired = true\n', text)
        path = self.write("retired.toml", text)
        other = self.fresh_store("other.db")
        self.run_ok("config", "apply", path, "--store", other)
        self.assertEqual(self.run_ok("config", "export", "--store", other).out, text)

        # A file that lists them as active brings them back, the OU first.
        active = text.replace("retired = true\n", "").replace(
            '"Contoso/Sales",\n]\nretired_ous = [\n', '"Contoso/Sales",\n')
        path = self.write("active.toml", active)
        self.assertEqual(self.run_ok("config", "apply", path).out,
                         "~ ou Contoso/Sales/EMEA: restore\n~ service \"EMEA Line\": restore\n")
        self.assertEqual(self.export(), active)

        # --prune retires what the file leaves out of its scope, and deletes nothing used.
        start = active.index('[[services]]\nname = "EMEA Line"')
        without = active[:start] + active[active.index("[[services]]", start + 1):]
        without = without.replace('  "Contoso/Sales/EMEA",\n', "").replace(
            '[[codes]]\ntype = "primary"\nname = "折り返し"\nou = "Contoso/Sales/EMEA"\n\n', "")
        path = self.write("pruned.toml", without)
        self.assertEqual(self.run_ok("config", "plan", path).out, "")
        self.assertEqual(self.run_ok("config", "apply", path, "--prune").out.splitlines(), [
            '- code primary "折り返し" in Contoso/Sales/EMEA',
            '~ service "EMEA Line": retire',
            "~ ou Contoso/Sales/EMEA: retire",
        ])
        self.assertEqual(self.json_ok("service", "show", "EMEA Line")["retired_at"],
                         "2026-11-26T09:30:00Z")
        self.assertEqual(self.run_ok("config", "plan", path, "--prune").out, "")

    def test_a_retired_service_keeps_its_settings(self):
        self.run_ok("service", "retire", "EMEA Line")
        text = self.export().replace('name = "EMEA Line"\nou = "Contoso/Sales/EMEA"\n'
                                     'license = "basic-routing"',
                                     'name = "EMEA Line"\nou = "Contoso/Sales/EMEA"\n'
                                     'license = "contact-center"')
        before = self.export()
        self.assert_fails(65, "config", "apply", self.write("changed.toml", text),
                          stderr='service "EMEA Line" is retired, and the file changes its license')
        self.assertEqual(self.export(), before)

    def test_without_prune_nothing_is_deleted(self):
        path = self.write("partial.toml", 'tenant = "Contoso"\n\n[[services]]\nname = "Hotline"\n'
                                          'ou = "Contoso/Sales"\nlicense = "contact-center"\nprimary = ["Sale"]\n')
        self.assertEqual(self.run_ok("config", "apply", path).out,
                         '~ service "Hotline": primary list reordered: No sale, Sale -> Sale, No sale\n')
        self.assertEqual(len(self.json_ok("code", "list")), 4)

    def test_bad_files_apply_nothing(self):
        before = self.export()
        good = self.export()
        cases = [
            ('tenant = "Contoso"\n[[codes]\n', "bad.toml:2:"),
            (good + "\ncolour = 1\n", 'unknown key "colour"'),
            (good.replace('license = "contact-center"', 'license = "contact-center"\nowner = "x"'),
             'unknown key "owner" in a service'),
            (good.replace('primary = ["No sale", "Sale"]', 'primary = ["No sale", "Typo"]'),
             'primary "Typo": there is no code named "Typo"'),
            (good.replace('license = "contact-center"', 'license = "basic-routing"'),
             "has codes-and-tags enabled, which license basic-routing does not allow"),
            (good.replace('session-details = true', 'session-details = true, x-ray = true'),
             'unknown feature "x-ray"'),
            (good.replace('tenant = "Contoso"', 'tenant = "Fabrikam"'), 'the file is for tenant "Fabrikam"'),
            (good.replace('ou = "Contoso/Sales"\nlicense', 'ou = "Contoso/Sales/EMEA"\nlicense', 1),
             "services do not move between OUs"),
            (good + '\n[[codes]]\ntype = "primary"\nname = "sale"\nou = "Contoso"\ndescription = "x"\n',
             'primary code "sale" is defined again (first at line'),
            (good + '\n[[services]]\nname = "HOTLINE"\nou = "Contoso/Sales"\nlicense = "basic-routing"\n',
             'service "HOTLINE" is defined again'),
        ]
        for text, message in cases:
            path = self.write("bad.toml", text + ('\n[[codes]]\ntype = "primary"\nname = "Extra"\n'
                                                  if "[[codes]\n" not in text else ""))
            self.assert_fails(65, "config", "apply", path, stderr=message)
            self.assertEqual(self.export(), before, message)
        self.assert_fails(66, "config", "apply", os.path.join(self.sandbox.dir, "missing.toml"))

    def test_the_file_says_its_format_and_a_newer_one_is_refused(self):
        before = self.export()
        self.assertTrue(before.splitlines()[2] == "format = 1", before)
        # Files from before the key are format 1, and read as they were.
        old = self.write("old.toml", before.replace("format = 1\n", ""))
        self.assertEqual(self.run_ok("config", "plan", old).out, "")
        # A newer format is never read as this one: not even its unknown keys are judged.
        for command in ("plan", "apply"):
            newer = self.write("newer.toml", before.replace("format = 1", "format = 2\nqueues = []"))
            result = self.assert_fails(78, "config", command, newer,
                                       stderr=f"{newer}:3:10: the configuration file is in format 2, "
                                              "newer than this nimbus-codes reads (up to 1)")
            self.assertIn("upgrade nimbus-codes", result.err)
            self.assertEqual(self.export(), before)
        for value in ('"1"', "0", "1.5"):
            bad = self.write("bad.toml", before.replace("format = 1", f"format = {value}"))
            self.assert_fails(65, "config", "apply", bad, stderr='"format" must be a whole number from 1')
        self.assertEqual(self.export(), before)

    def test_roles(self):
        path = self.write("contoso.toml", self.export().replace('description = "The \\"customer\\" bought"',
                                                                'description = "Bought"'))
        self.assert_fails(77, "config", "export", "--as", "sue")
        self.assert_fails(77, "config", "export", "--as", "mia")
        self.assertIn('scope = "Contoso/Sales"', self.run_ok("config", "export", "--ou", "Contoso/Sales",
                                                             "--as", "sam").out)
        self.assert_fails(77, "config", "apply", path, "--as", "mia")
        self.assert_fails(77, "config", "apply", path, "--as", "sue")
        # The file changes a code at Contoso, which neither an owner nor this OU admin may.
        self.assert_fails(77, "config", "apply", path, "--as", "olga", stderr='may not change codes in OU "Contoso"')
        self.assert_fails(77, "config", "apply", path, "--as", "sam")
        self.run_ok("config", "apply", path, "--as", "alice")

    def test_every_role_exports_what_it_may_apply(self):
        owner = self.export("--as", "olga")
        self.assertIn('name = "Hotline"', owner)
        self.assertIn('name = "Rückruf"', owner)  # a code at Hotline's OU
        self.assertNotIn('name = "EMEA Line"', owner)  # not olga's service
        self.assertNotIn('name = "No sale"', owner)  # at Contoso, shared: not olga's to change
        self.assertIn("ous = [\n]", owner)  # owners create no OUs
        path = self.write("olga.toml", owner)
        self.assertIn("no changes", self.run_ok("config", "apply", path, "--as", "olga").err)
        self.write("olga.toml", owner.replace('primary = ["No sale", "Sale"]', 'primary = ["Sale", "No sale"]'))
        self.assertEqual(self.run_ok("config", "apply", path, "--as", "olga").out,
                         '~ service "Hotline": primary list reordered: No sale, Sale -> Sale, No sale\n')
        # An OU admin: the subtree's OUs, codes and services.
        ou_admin = self.export("--as", "sam")
        for name in ("Hotline", "EMEA Line", "Rückruf", "折り返し", "Contoso/Sales/EMEA"):
            self.assertIn(name, ou_admin)
        self.assertNotIn('name = "No sale"', ou_admin)
        self.assertIn("no changes", self.run_ok("config", "apply", self.write("sam.toml", ou_admin),
                                                "--as", "sam").err)
        # --ou an owner has no rights at stays refused.
        self.assert_fails(77, "config", "export", "--ou", "Contoso/Sales/EMEA", "--as", "olga")

    def test_codes_default_to_the_scope(self):
        path = self.write("scoped.toml", 'tenant = "Contoso"\nscope = "Contoso/Sales"\n\n'
                                         '[[codes]]\ntype = "primary"\nname = "Scoped"\n')
        self.assertEqual(self.run_ok("config", "apply", path).out, '+ code primary "Scoped" in Contoso/Sales\n')
        self.run_ok("config", "apply", path, "--as", "sam")

    def test_owner_applies_an_export_that_changes_only_their_service(self):
        text = self.export().replace('primary = ["No sale", "Sale"]', 'primary = ["Sale", "No sale"]')
        self.run_ok("service", "create", "Other", "--ou", "Contoso/Sales", "--license", "basic-routing")
        self.run_ok("service", "apply", "Other", "--primary", "Sale")
        text = self.export().replace('primary = ["No sale", "Sale"]', 'primary = ["Sale", "No sale"]')
        path = self.write("owner.toml", text)
        self.assertEqual(self.run_ok("config", "plan", path, "--as", "olga").out,
                         '~ service "Hotline": primary list reordered: No sale, Sale -> Sale, No sale\n')
        self.run_ok("config", "apply", path, "--as", "olga")

    def test_service_name_spelling_follows_the_file(self):
        path = self.write("renamed.toml", self.export().replace('name = "Hotline"', 'name = "HOTLINE"'))
        self.assertEqual(self.run_ok("config", "apply", path).out,
                         '~ service "Hotline": name "Hotline" -> "HOTLINE"\n')
        self.assertEqual(self.run_ok("config", "plan", path).out, "")

    def test_the_file_is_read_before_the_store_is_locked(self):
        env = self.sandbox.environment()
        applier = subprocess.Popen([BINARY, "config", "apply", "-"], env=env, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # While apply still waits for its input, another writer is not blocked.
            self.run_ok("code", "create", "--type", "primary", "--name", "Meanwhile", "--busy-timeout", "300")
        finally:
            out, err = applier.communicate(self.export().encode(), timeout=COMMAND)
        self.assertEqual(applier.returncode, 0, err)

    def test_stdin(self):
        result = self.run_ok("config", "plan", "-", stdin=self.export().replace('"No sale", "Sale"', '"Sale", "No sale"'))
        self.assertIn("reordered", result.out)


if __name__ == "__main__":
    main()
