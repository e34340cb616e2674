"""Services, their ordered code lists and their My Sessions extensions."""

import os
import subprocess

from harness import BINARY, LOGIN, NimbusTestCase, ROOT, main, time_limit


class ServicesTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        self.run_ok("ou", "create", "Contoso/Sales")
        self.run_ok("ou", "create", "Contoso/Support")
        for args in (
            ("--type", "primary", "--name", "Sale"),
            ("--type", "primary", "--name", "No sale"),
            ("--type", "secondary", "--name", "Rückruf"),
            ("--type", "primary", "--name", "Lead", "--ou", "Contoso/Support"),
        ):
            self.run_ok("code", "create", *args)
        self.run_ok("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "basic-routing")

    def settings(self):
        """Everything a refused command must leave as it was."""
        return self.run_ok("config", "export").out

    def show(self):
        return self.json_ok("service", "show", "Hotline")

    def test_steps_one_to_three_as_a_script(self):
        # A fresh store: the script defines codes, applies them, enables codes and tags.
        self.sandbox.use_store(self.sandbox.new_store("fresh.db"))
        self.init_store()
        script = os.path.join(ROOT, "docs", "examples", "setup-hotline.sh")
        env = self.sandbox.environment({"NIMBUS_CODES_BIN": BINARY})
        for _ in range(2):  # and again: every step is idempotent
            completed = subprocess.run(["bash", script], env=env, capture_output=True, timeout=time_limit(1))
            self.assertEqual(completed.returncode, 0, completed.stderr.decode())
        hotline = self.show()
        self.assertEqual(hotline["primary"], ["Sale", "No sale", "Callback"])
        self.assertEqual(hotline["secondary"], ["Upsell", "Rückruf"])
        self.assertEqual(hotline["license"], "contact-center")
        self.assertEqual(hotline["extensions"], {"codes-and-tags": True, "caller-information": False,
                                                 "conversation-context": False, "session-details": False})

    def test_create_show_list_edit(self):
        self.assertEqual(
            self.show(),
            {"id": 1, "name": "Hotline", "ou": "Contoso/Sales", "license": "basic-routing", "primary": [],
             "secondary": [],
             "extensions": {"codes-and-tags": False, "caller-information": False,
                            "conversation-context": False, "session-details": False},
             "wrap_up": None, "created_at": "2026-11-26T09:30:00Z", "retired_at": None})
        self.assertIn("unchanged", self.run_ok("service", "create", "Hotline", "--ou", "Contoso/Sales",
                                               "--license", "basic-routing").err)
        self.assert_fails(4, "service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center")
        self.assert_fails(4, "service", "create", "HOTLINE", "--ou", "Contoso/Support", "--license", "basic-routing",
                          stderr='service "Hotline" already exists')
        self.run_ok("service", "create", "Support Desk", "--ou", "Contoso/Support", "--license", "contact-center")
        self.assertEqual([s["name"] for s in self.json_ok("service", "list")], ["Hotline", "Support Desk"])
        renamed = self.run_ok("service", "edit", "Hotline", "--name", "Sales Hotline", "--format", "json")
        self.assertEqual(renamed.json()["name"], "Sales Hotline")
        self.assertIn('identity files that grant roles on "Hotline" must now name "Sales Hotline"', renamed.err)
        self.assert_fails(4, "service", "edit", "Sales Hotline", "--name", "support desk")
        self.assert_fails(3, "service", "show", "Hotline", stderr='service "Hotline" does not exist')
        self.assert_fails(3, "service", "create", "X", "--ou", "Contoso/Nowhere", "--license", "basic-routing")
        self.assert_fails(64, "service", "create", "X", "--ou", "Contoso", "--license", "premium")

    def test_apply_sets_lists_in_order(self):
        applied = self.json_ok("service", "apply", "Hotline", "--primary", "No sale,Sale", "--secondary", "Rückruf")
        self.assertEqual((applied["primary"], applied["secondary"]), (["No sale", "Sale"], ["Rückruf"]))
        self.json_ok("service", "apply", "Hotline", "--primary", "sale, no sale")
        self.assertEqual(self.show()["primary"], ["Sale", "No sale"])
        self.assertEqual(self.show()["secondary"], ["Rückruf"])  # a list not named stays
        self.json_ok("service", "apply", "Hotline", "--secondary", "")
        self.assertEqual(self.show()["secondary"], [])
        self.json_ok("service", "apply", "Hotline", "--primary", "id:2")
        self.assertEqual(self.show()["primary"], ["No sale"])

    def test_add_and_remove(self):
        self.run_ok("service", "apply", "Hotline", "--add-primary", "Sale", "--add-primary", "No sale")
        self.run_ok("service", "apply", "Hotline", "--add-primary", "Sale")
        self.assertEqual(self.show()["primary"], ["Sale", "No sale"])
        self.run_ok("service", "apply", "Hotline", "--remove-primary", "Sale", "--add-secondary", "Rückruf")
        self.assertEqual((self.show()["primary"], self.show()["secondary"]), (["No sale"], ["Rückruf"]))
        self.assert_fails(64, "service", "apply", "Hotline", "--primary", "Sale", "--add-primary", "No sale")
        self.assert_fails(64, "service", "apply", "Hotline", stderr="nothing to change")

    def test_unchanged_writes_no_audit(self):
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale")
        records = len(self.json_ok("audit", "list"))
        result = self.run_ok("service", "apply", "Hotline", "--primary", "Sale")
        self.assertIn("unchanged", result.err)
        self.run_ok("extension", "disable", "Hotline", "session-details")
        self.assertEqual(len(self.json_ok("audit", "list")), records)

    def test_every_offending_code_is_named_and_nothing_changes(self):
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale")
        self.run_ok("code", "create", "--type", "primary", "--name", "Gone")
        self.run_ok("code", "delete", "Gone")
        before = self.settings()
        result = self.assert_fails(
            65, "service", "apply", "Hotline", "--primary", "No sale,Nope,Rückruf,Lead,Gone,No sale",
            "--secondary", "Sale", stderr='service "Hotline" cannot take these codes; nothing was changed')
        for line in ('primary "Nope": there is no code named "Nope"', 'primary "Rückruf": is a secondary code',
                     'primary "Lead": is defined at OU "Contoso/Support", not at "Contoso/Sales" or above it',
                     'primary "Gone": is deleted', 'primary "No sale": is named twice',
                     'secondary "Sale": is a primary code'):
            self.assertIn(line, result.err)
        self.assertEqual(self.settings(), before)

    def test_deleting_a_code_takes_it_off_lists(self):
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,No sale")
        self.run_ok("code", "delete", "Sale")
        self.assertEqual(self.show()["primary"], ["No sale"])
        last = self.json_ok("audit", "list")[-1]
        self.assertEqual((last["action"], last["before"]["primary"], last["after"]["primary"]),
                         ("service.codes", ["Sale", "No sale"], ["No sale"]))

    def test_license_gate(self):
        before = self.settings()
        self.assert_fails(69, "extension", "enable", "Hotline", "codes-and-tags",
                          stderr='feature "codes-and-tags" needs an enterprise-routing or contact-center license')
        self.assert_fails(69, "extension", "enable", "Hotline", "session-details", "conversation-context")
        self.assertEqual(self.settings(), before)
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        self.run_ok("service", "edit", "Hotline", "--license", "enterprise-routing")
        enabled = self.json_ok("extension", "enable", "Hotline", "codes-and-tags", "conversation-context")
        self.assertEqual([e["feature"] for e in enabled if e["enabled"]],
                         ["codes-and-tags", "caller-information", "conversation-context"])
        self.assertIn("unchanged", self.run_ok("extension", "enable", "Hotline", "codes-and-tags").err)
        before = self.settings()
        self.assert_fails(69, "service", "edit", "Hotline", "--license", "advanced-routing",
                          stderr='service "Hotline" has codes-and-tags and conversation-context enabled, which license '
                                 "advanced-routing does not allow")
        self.assertEqual(self.settings(), before)
        result = self.run_ok("service", "edit", "Hotline", "--license", "advanced-routing", "--disable-unlicensed")
        self.assertIn("disabled codes-and-tags and conversation-context: not allowed by license", result.err)
        self.assertEqual(self.show()["extensions"]["caller-information"], True)
        self.assertEqual(self.show()["extensions"]["codes-and-tags"], False)
        self.assertEqual(self.json_ok("audit", "list")[-1]["after"]["license"], "advanced-routing")

    def test_extension_list(self):
        features = self.json_ok("extension", "list", "Hotline")
        self.assertEqual([f["feature"] for f in features],
                         ["codes-and-tags", "caller-information", "conversation-context", "session-details"])
        self.assertEqual(features[0]["licensed"], False)
        self.assertEqual(features[0]["licenses"], ["enterprise-routing", "contact-center"])
        self.assert_fails(64, "extension", "enable", "Hotline", "teleportation")

    def test_roles(self):
        before = self.settings()
        # Members and supervisors change nothing; members do not even see settings.
        for user in ("mia", "sue"):
            self.assert_fails(77, "service", "apply", "Hotline", "--primary", "Sale", "--as", user)
            self.assert_fails(77, "extension", "enable", "Hotline", "session-details", "--as", user)
            self.assert_fails(77, "service", "create", "X", "--ou", "Contoso/Sales", "--license", "basic-routing",
                              "--as", user)
        self.assert_fails(77, "service", "show", "Hotline", "--as", "mia")
        self.assertEqual(self.json_ok("service", "show", "Hotline", "--as", "sue")["name"], "Hotline")
        # Owners change their service's settings, not its license, and create no services.
        self.assert_fails(77, "service", "edit", "Hotline", "--license", "contact-center", "--as", "olga",
                          stderr="olga via " + LOGIN + " may not rename, retire, restore or delete services, or change their license")
        self.assert_fails(77, "service", "create", "X", "--ou", "Contoso/Sales", "--license", "basic-routing",
                          "--as", "olga")
        self.assertEqual(self.settings(), before)
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale", "--as", "olga")
        self.run_ok("extension", "enable", "Hotline", "session-details", "--as", "olga")
        self.assertEqual(self.json_ok("audit", "list")[-1]["via"], LOGIN)
        # OU admins act inside their subtree.
        self.run_ok("service", "edit", "Hotline", "--license", "contact-center", "--as", "sam")
        self.run_ok("service", "create", "Inbound", "--ou", "Contoso/Sales", "--license", "basic-routing", "--as", "sam")
        self.assert_fails(77, "service", "create", "Desk", "--ou", "Contoso/Support", "--license", "basic-routing",
                          "--as", "sam")
        # An owner may not delete a code that another service's list holds.
        self.run_ok("code", "create", "--type", "primary", "--name", "Shared", "--ou", "Contoso/Sales")
        self.run_ok("service", "apply", "Inbound", "--primary", "Shared")
        before = self.settings()
        self.assert_fails(77, "code", "delete", "Shared", "--as", "olga",
                          stderr='code "Shared" is on the lists of service "Inbound"')
        self.assertEqual(self.settings(), before)
        # An owner may change codes at the OU of a service they own, not elsewhere.
        self.run_ok("code", "create", "--type", "primary", "--name", "Hot lead", "--ou", "Contoso/Sales", "--as", "olga")
        self.assert_fails(77, "code", "create", "--type", "primary", "--name", "X", "--as", "olga")


if __name__ == "__main__":
    main()
