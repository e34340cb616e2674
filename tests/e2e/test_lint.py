"""code lint: each rule with a case it finds and one it must not, the scopes, --strict,
the formats and who may run it. The clock stands at FIXED_NOW; the catalogue was built
in January, long enough before for the unused-code rule."""

import json

from harness import FIXED_NOW, NimbusTestCase, main

JANUARY = "2026-01-05T00:00:00Z"
HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


class LintTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        # A clean catalogue: every rule finds nothing in it.
        self.in_january(("ou", "create", "Contoso/Sales"), ("ou", "create", "Contoso/Support"),
                        ("code", "create", "--type", "primary", "--name", "Sale",
                         "--description", "The caller bought something"),
                        ("service", "create", "Hotline", "--ou", "Contoso/Sales",
                         "--license", "contact-center"),
                        ("service", "apply", "Hotline", "--primary", "Sale"),
                        ("extension", "enable", "Hotline", "codes-and-tags"))
        self.use("Hotline", "Sale", "s-1")

    def in_january(self, *commands):
        for command in commands:
            self.run_ok(*command, env={"NIMBUS_CODES_NOW": JANUARY})

    def code(self, name, type="primary", ou=None, description="Means one thing"):
        args = ["code", "create", "--type", type, "--name", name, "--description", description]
        self.in_january(args + (["--ou", ou] if ou else []))

    def use(self, service, code, session, started="2026-11-20T08:00:00Z"):
        """A call of `service` concluded with primary `code`."""
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin=HEADER + f"{session},{service},mia,inbound,{started},{started},accepted,\n")
        self.run_ok("session", "conclude", session, "--primary", code)

    def findings(self, *args, rule=None):
        """(rule, [object names]) of each finding, of one rule if given."""
        found = self.json_ok("code", "lint", *args)
        return [(f["rule"], [o["name"] for o in f["objects"]]) for f in found
                if rule is None or f["rule"] == rule]

    def test_a_clean_catalogue_has_no_findings(self):
        result = self.run_ok("code", "lint", "--strict")
        self.assertEqual((result.out, result.err), ("", "no findings\n"))
        self.assertEqual(self.json_ok("code", "lint"), [])

    def test_near_duplicates_within_what_one_service_sees(self):
        self.code("Callback")
        self.code("call-back", ou="Contoso/Sales")
        self.code("Rückruf")
        self.code("RUCKRUF ", ou="Contoso/Sales")
        self.code("Complaint")
        self.code("Complains")
        self.code("Installation")
        self.code("Instalaton")
        # Not near-duplicates: a series, short names, codes no one service sees
        # together, codes of the other type, a deleted code, names far apart.
        self.code("Level 1")
        self.code("Level 2")
        self.code("Bug")
        self.code("Bag")
        self.code("Refund", ou="Contoso/Sales")
        self.code("Refunds", ou="Contoso/Support")
        self.code("Sale", type="secondary")
        self.code("Sales!")
        self.in_january(("code", "delete", "Sales!"))
        self.code("Installment")
        self.assertEqual(self.findings(rule="near-duplicate"), [
            ("near-duplicate", ["call-back", "Callback"]),
            ("near-duplicate", ["Complains", "Complaint"]),
            ("near-duplicate", ["Instalaton", "Installation"]),
            ("near-duplicate", ["RUCKRUF", "Rückruf"]),
        ])
        text = self.run_ok("code", "lint").out
        self.assertIn('near-duplicate: primary codes "call-back" (id:3, OU "Contoso/Sales") and '
                      '"Callback" (id:2, OU "Contoso") ', text)
        self.assertIn("differ only in case, accents, spacing or punctuation; "
                      'service "Hotline" can offer both', text)
        self.assertIn('"Complains" (id:7, OU "Contoso") and "Complaint" (id:6, OU "Contoso") '
                      "differ by one letter", text)
        self.assertIn("differ by two letters", text)
        # The fix keeps the code a list offers.
        self.in_january(("service", "apply", "Hotline", "--add-primary", "Complaint"))
        fix = [f["fix"] for f in self.json_ok("code", "lint")
               if [o["name"] for o in f["objects"]] == ["Complains", "Complaint"]]
        self.assertEqual(fix, ["if they mean one thing, list id:6 instead of id:7 (service apply) "
                               "and delete id:7 (code delete); otherwise rename one (code edit) "
                               "so that agents tell them apart"])
        # A service sees its OU's codes and those above: Support's service not Sales' call-back.
        self.assertEqual(self.findings("--ou", "Contoso/Support", rule="near-duplicate"), [])

    def test_codes_on_no_list(self):
        self.code("Callback", ou="Contoso/Sales")
        self.code("Upsell", type="secondary")
        self.code("Spam")
        self.in_january(("code", "delete", "Spam"))
        self.assertEqual(self.findings(rule="unlisted-code"),
                         [("unlisted-code", ["Callback"]), ("unlisted-code", ["Upsell"])])
        self.assertIn("fix: add it to a service's list (service apply SERVICE --add-secondary id:",
                      self.run_ok("code", "lint").out)
        self.assertEqual(self.findings("--ou", "Contoso/Support", rule="unlisted-code"), [])
        self.assertEqual(self.findings("--service", "Hotline", rule="unlisted-code"), [])
        self.in_january(("service", "apply", "Hotline", "--add-primary", "Callback",
                         "--secondary", "Upsell"))
        self.assertEqual(self.findings(rule="unlisted-code"), [])

    def test_listed_codes_unused_for_months(self):
        self.code("Callback")
        self.code("Upsell", type="secondary")
        self.in_january(("service", "apply", "Hotline", "--add-primary", "Callback",
                         "--secondary", "Upsell"))
        # Used in May: more than six months before the clock, less than seven.
        self.use("Hotline", "Callback", "s-may", started="2026-05-01T08:00:00Z")
        self.assertEqual(self.findings(rule="unused-code"), [
            ("unused-code", ["Callback", "Hotline"]), ("unused-code", ["Upsell", "Hotline"])])
        self.assertIn('primary code "Callback" (id:2) on the list of service "Hotline" was not '
                      "used there in 6 months (since 2026-05-26)\n"
                      '    fix: take it off the list (service apply "Hotline" --remove-primary '
                      "id:2)", self.run_ok("code", "lint").out)
        self.assertEqual(self.findings("--unused-months", "7", rule="unused-code"),
                         [("unused-code", ["Upsell", "Hotline"])])
        # A code listed since recently is not judged yet.
        self.run_ok("code", "create", "--type", "primary", "--name", "Fresh", "--description", "x")
        self.run_ok("service", "apply", "Hotline", "--add-primary", "Fresh")
        self.assertNotIn("Fresh", json.dumps(self.findings(rule="unused-code")))
        self.assert_fails(64, "code", "lint", "--unused-months", "0",
                          stderr="--unused-months 0 is outside 1 to 120")

    def test_usage_is_read_only_where_reports_may_be(self):
        self.code("Callback")
        self.in_january(("service", "create", "Outbound", "--ou", "Contoso/Sales",
                         "--license", "contact-center"),
                        ("service", "apply", "Outbound", "--primary", "Callback"),
                        ("service", "apply", "Hotline", "--add-primary", "Callback"))
        self.assertEqual(self.findings(rule="unused-code"), [
            ("unused-code", ["Callback", "Hotline"]), ("unused-code", ["Callback", "Outbound"])])
        # Sue supervises Hotline only: Outbound's usage is none of her business.
        result = self.run_ok("code", "lint", "--as", "sue", "--format", "json")
        self.assertEqual([(f["rule"], [o["name"] for o in f["objects"]]) for f in result.json()],
                         [("unused-code", ["Callback", "Hotline"])])
        self.assertIn("rule unused-code skipped 1 service whose reports", result.err)
        self.assert_fails(77, "code", "lint", "--as", "mia")

    def test_long_primary_lists(self):
        names = [f"Reason {letter}" for letter in "ABCDEFGHIJK"]
        for name in names:
            self.code(name)
        self.in_january(("service", "apply", "Hotline", "--primary", ",".join(["Sale"] + names)))
        self.assertEqual(self.findings(rule="long-list"), [])  # 12 codes
        self.assertEqual(self.findings("--max-primary", "11", rule="long-list"),
                         [("long-list", ["Hotline"])])
        self.code("Reason L")
        self.in_january(("service", "apply", "Hotline", "--add-primary", "Reason L"))
        self.assertIn('long-list: service "Hotline" offers 13 primary codes; agents scan at most '
                      "12 during a call", self.run_ok("code", "lint").out)

    def test_codes_and_tags_on_with_an_empty_primary_list(self):
        self.in_january(("service", "create", "Chat", "--ou", "Contoso/Sales",
                         "--license", "enterprise-routing"))
        self.assertEqual(self.findings(rule="empty-list"), [])
        self.in_january(("extension", "enable", "Chat", "codes-and-tags"))
        self.assertEqual(self.findings(rule="empty-list"), [("empty-list", ["Chat"])])
        self.assertIn("fix: list codes (service apply \"Chat\" --primary CODE,...), or turn the "
                      'feature off (extension disable "Chat" codes-and-tags)',
                      self.run_ok("code", "lint").out)
        self.in_january(("service", "apply", "Chat", "--primary", "Sale"))
        self.assertEqual(self.findings(rule="empty-list"), [])

    def test_codes_without_description(self):
        self.code("Callback", description="")
        self.code("Upsell", type="secondary", description="   ")
        self.in_january(("service", "apply", "Hotline", "--add-primary", "Callback",
                         "--secondary", "Upsell"))
        self.assertEqual(self.findings(rule="no-description"),
                         [("no-description", ["Callback"]), ("no-description", ["Upsell"])])
        self.in_january(("code", "edit", "Callback", "--description", "Call the customer back"))
        self.assertEqual(self.findings(rule="no-description"), [("no-description", ["Upsell"])])

    def test_lists_of_a_service_not_licensed_for_codes(self):
        self.in_january(("service", "create", "Basic", "--ou", "Contoso/Sales",
                         "--license", "basic-routing"))
        self.assertEqual(self.findings(rule="unlicensed-lists"), [])
        applied = self.run_ok("service", "apply", "Basic", "--primary", "Sale")
        self.assertIn('nimbus-codes: warning: service "Basic" has the license basic-routing, '
                      "which does not allow codes-and-tags: its agents are offered none of these "
                      "codes until the license is enterprise-routing or contact-center",
                      applied.err)
        self.assertEqual(self.findings(rule="unlicensed-lists"),
                         [("unlicensed-lists", ["Basic"])])
        # A licensed service warns of nothing.
        self.assertNotIn("warning", self.run_ok("service", "apply", "Hotline",
                                                "--primary", "Sale").err)
        self.run_ok("service", "edit", "Basic", "--license", "contact-center")
        self.assertEqual(self.findings(rule="unlicensed-lists"), [])

    def test_scopes_strict_and_formats(self):
        self.code("Callback", ou="Contoso/Support")
        found = self.run_cli("code", "lint", "--strict")
        self.assertEqual(found.code, 1, repr(found))
        self.assertEqual(found.err, "1 finding\n")
        self.assertEqual(self.run_cli("code", "lint", "--strict", "--ou", "Contoso/Sales").code, 0)
        self.assertEqual(self.run_cli("code", "lint", "--strict", "--service", "Hotline").code, 0)
        self.assertEqual(self.json_ok("code", "lint"), [{
            "rule": "unlisted-code",
            "objects": [{"kind": "code", "id": 2, "name": "Callback", "type": "primary",
                         "ou": "Contoso/Support"}],
            "message": 'primary code "Callback" (id:2) in OU "Contoso/Support" is on no '
                       "service's list",
            "fix": "add it to a service's list (service apply SERVICE --add-primary id:2), or "
                   "delete it (code delete id:2)"}])
        csv = self.run_ok("code", "lint", "--format", "csv").out
        self.assertTrue(csv.startswith("rule,objects,message,fix\r\nunlisted-code,"), csv)
        self.assert_fails(3, "code", "lint", "--service", "Nowhere")
        self.assert_fails(64, "code", "lint", "--service", "Hotline", "--ou", "Contoso/Support",
                          stderr='service "Hotline" is not in OU "Contoso/Support"')
        self.assert_fails(3, "code", "lint", "--ou", "Contoso/Nowhere")


if __name__ == "__main__":
    main()
