"""Retiring and restoring services and OUs, and deleting those never used: reports and
exports stay as they were, nothing new is made in what is retired, and whatever was used
is never deleted, by the tool or by raw SQL."""

import os

from harness import CAST, NimbusTestCase, main

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


class RetireTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_hotline()

    def calls(self, rows, expect=0):
        result = self.run_cli("session", "import", "-", "--input-format", "csv", stdin=HEADER + rows)
        self.assertEqual(result.code, expect, repr(result))
        return result

    def report(self):
        usage = self.run_ok("report", "usage", "--month", "2026-11", "--by", "service,code",
                            "--format", "csv").out
        folder = os.path.join(self.sandbox.dir, "export")
        self.run_ok("report", "export", "--dir", folder, "--from", "2026-11-01", "--to", "2026-12-01")
        tables = {}
        for name in sorted(os.listdir(folder)):
            if name.endswith(".csv"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    tables[name] = f.read()
        return usage, tables

    def names(self, noun, *args):
        return [row["name" if noun == "service" else "path"]
                for row in self.json_ok(noun, "list", *args)]

    def test_a_retired_service_stays_in_reports_and_takes_no_new_sessions(self):
        self.calls("s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,\n"
                   "s-2,Hotline,mia,inbound,2026-11-21T08:00:00Z,2026-11-21T08:05:00Z,accepted,\n"
                   "s-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,,,\n")
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale")
        before = self.report()

        retired = self.run_ok("service", "retire", "Hotline", "--format", "json")
        self.assertEqual(retired.json()["retired_at"], "2026-11-26T09:30:00Z")
        self.assertIn('updated service "Hotline"', retired.err)
        self.assertIn("unchanged", self.run_ok("service", "retire", "Hotline").err)
        self.assertEqual(self.report(), before)
        self.assertEqual(self.names("service"), [])
        self.assertEqual(self.names("service", "--include-retired"), ["Hotline"])
        self.assertEqual(self.json_ok("service", "show", "Hotline")["primary"], ["Sale"])

        # No call that began since, by the tool or raw SQL; one that began before
        # may still arrive late, and a call already stored still ends.
        refused = self.calls("s-4,Hotline,mia,inbound,2026-11-26T09:30:00Z,,,\n", expect=65)
        self.assertIn('<stdin>:2: service "Hotline" was retired at 2026-11-26T09:30:00Z: it takes '
                      "no calls that began since", refused.err)
        self.assert_fails(4, "session", "add", "--id", "s-5", "--service", "Hotline", "--user", "mia",
                          "--started-at", "2026-11-26T10:00:00Z", stderr="was retired")
        started = 1_795_685_400  # 2026-11-26T10:10:00Z
        self.assertTrue(self.sandbox.refuses(
            "INSERT INTO session (external_id, service_id, \"user\", direction, started_at, caller) "
            f"SELECT 'raw', id, 'mia', 'inbound', {started}, '' FROM service WHERE name = 'Hotline'"))
        self.calls("s-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,2026-11-22T08:09:00Z,accepted,\n"
                   "s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,\n"
                   "late,Hotline,mia,inbound,2026-11-26T09:29:59Z,,,\n")
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM session"), 4)
        # Its open sessions can still be concluded, so that its reports are complete.
        self.run_ok("session", "conclude", "s-2", "--primary", "Sale", "--as", "mia")

        # Its settings no longer change.
        for command in (("service", "apply", "Hotline", "--primary", ""),
                        ("extension", "disable", "Hotline", "codes-and-tags"),
                        ("service", "edit", "Hotline", "--name", "Hotline 2"),
                        ("service", "wrap-up", "Hotline", "--deadline", "1h",
                         "--default-primary", "Sale")):
            self.assert_fails(4, *command, stderr='service "Hotline" is retired: its settings no '
                                                  "longer change")

        self.assert_fails(77, "service", "restore", "Hotline", "--as", "olga")
        # Lint looks at what is offered: not at a retired service, but its lists'
        # codes are not "on no list", ready for its restoring.
        self.assert_fails(4, "code", "lint", "--service", "Hotline",
                          stderr='service "Hotline" is retired: it offers nothing to lint')
        self.assertNotIn("unlisted-code", self.run_ok("code", "lint").out)
        self.run_ok("service", "restore", "Hotline")
        self.assertEqual(self.names("service"), ["Hotline"])
        self.calls("s-4,Hotline,mia,inbound,2026-11-26T09:30:00Z,,,\n")
        self.assertEqual([a for a in self.audit_actions() if a.startswith("service.re")],
                         ["service.retire", "service.restore"])

    def test_an_ou_is_retired_once_nothing_under_it_is_active(self):
        self.run_ok("ou", "create", "Contoso/Sales/EMEA")
        self.assert_fails(4, "ou", "retire", "Contoso/Sales",
                          stderr='OU "Contoso/Sales" still has things active: OU "Contoso/Sales/EMEA" '
                                 'and service "Hotline"')
        self.assert_fails(64, "ou", "retire", "Contoso", stderr="is the tenant root")
        # Sam administers Contoso/Sales, but retiring it is for those who could create it.
        self.run_ok("service", "retire", "Hotline", "--as", "sam")
        self.run_ok("ou", "retire", "Contoso/Sales/EMEA", "--as", "sam")
        self.assert_fails(77, "ou", "retire", "Contoso/Sales", "--as", "sam")
        self.run_ok("ou", "retire", "Contoso/Sales")
        self.assertEqual(self.names("ou"), ["Contoso"])
        self.assertEqual(self.names("ou", "--include-retired"),
                         ["Contoso", "Contoso/Sales", "Contoso/Sales/EMEA"])

        # Nothing new is made in a retired OU, and nothing in it comes back before it does.
        directory = self.write("callers.csv", "number,name\n+41441234567,Anna\n")
        for command in (("ou", "create", "Contoso/Sales/APAC"),
                        ("code", "create", "--type", "primary", "--name", "Lead", "--ou", "Contoso/Sales"),
                        ("service", "create", "Outbound", "--ou", "Contoso/Sales",
                         "--license", "contact-center"),
                        ("context", "define", "Reason", "--type", "text", "--ou", "Contoso/Sales"),
                        ("directory", "import", directory, "--ou", "Contoso/Sales", "--country", "CH")):
            self.assert_fails(4, *command, stderr='OU "Contoso/Sales" is retired: nothing new is made in it')
        self.assert_fails(4, "service", "restore", "Hotline",
                          stderr='service "Hotline" is in OU "Contoso/Sales", which is retired')
        self.assert_fails(4, "ou", "restore", "Contoso/Sales/EMEA",
                          stderr='OU "Contoso/Sales/EMEA" is in OU "Contoso/Sales", which is retired')
        self.run_ok("ou", "restore", "Contoso/Sales")
        self.run_ok("service", "restore", "Hotline")
        self.assertEqual(self.names("ou"), ["Contoso", "Contoso/Sales"])
        # A retired OU or service is never deleted, by raw SQL either.
        self.assertTrue(self.sandbox.refuses(
            "DELETE FROM ou WHERE path = 'Contoso/Sales/EMEA'"))
        self.assertEqual(self.names("ou", "--include-retired"),
                         ["Contoso", "Contoso/Sales", "Contoso/Sales/EMEA"])

    def test_what_was_never_used_is_deleted_and_nothing_else(self):
        # A typo made with --parents goes whole, with an audit record per OU.
        self.run_ok("ou", "create", "Contoso/Slaes/EMEA", "--parents")
        deleted = self.run_ok("ou", "delete", "contoso/slaes")
        self.assertEqual(deleted.err, 'deleted OU "Contoso/Slaes": it was never used\n'
                                      'deleted OU "Contoso/Slaes/EMEA": it was never used\n')
        self.assertEqual(self.names("ou", "--include-retired"), ["Contoso", "Contoso/Sales"])
        self.assertEqual(self.audit_actions()[-2:], ["ou.delete", "ou.delete"])
        self.run_ok("ou", "create", "Contoso/Slaes")  # the name is free again

        # What holds or held anything stays: retire it instead.
        self.run_ok("code", "create", "--type", "primary", "--name", "Lead", "--ou", "Contoso/Slaes")
        self.assert_fails(4, "ou", "delete", "Contoso/Slaes",
                          stderr='OU "Contoso/Slaes" has been used (codes and audit records filed under')
        self.assert_fails(4, "ou", "delete", "Contoso/Sales", stderr="services")
        self.assert_fails(64, "ou", "delete", "Contoso", stderr="is the tenant root")
        self.run_ok("ou", "create", "Contoso/Sales/Team")
        self.assert_fails(4, "ou", "delete", "Contoso/Sales",
                          stderr='audit records filed under "Contoso/Sales"')

        self.run_ok("service", "create", "Typo", "--ou", "Contoso/Sales", "--license", "basic-routing")
        self.assert_fails(77, "service", "delete", "Typo", "--as", "olga")
        self.assertIn('deleted service "Typo": it was never used',
                      self.run_ok("service", "delete", "Typo", "--as", "sam").err)
        self.assertEqual(self.names("service", "--include-retired"), ["Hotline"])
        self.assert_fails(3, "service", "show", "Typo")

        # Nor while a grant names it: a new service of the name would inherit it.
        self.sandbox.write_identity(dict(CAST, tom={"name": "Tom", "supervisor": ["Spare"]}))
        self.run_ok("service", "create", "Spare", "--ou", "Contoso/Sales", "--license", "basic-routing")
        self.assert_fails(4, "service", "delete", "Spare",
                          stderr='service "Spare" is named by the grants of tom in')

        self.run_ok("service", "create", "Chat", "--ou", "Contoso/Sales", "--license", "contact-center")
        self.run_ok("extension", "enable", "Chat", "session-details")
        self.run_ok("extension", "disable", "Chat", "session-details")
        self.assert_fails(4, "service", "delete", "Chat",
                          stderr='service "Chat" has been used (history (service.extensions)): it is '
                                 "never deleted")
        self.assert_fails(4, "service", "delete", "Hotline",
                          stderr="(codes on its lists, features enabled and history")
        self.calls("s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,,,\n")
        dump = self.sandbox.dump_but_sequences()
        self.assert_fails(4, "service", "delete", "Hotline", stderr="sessions")
        self.assertTrue(self.sandbox.refuses("DELETE FROM service WHERE name = 'Hotline'"))
        # What was used stays, whoever sends the statement: Chat's history says it was.
        self.assertTrue(self.sandbox.refuses("DELETE FROM service WHERE name = 'Chat'"))
        self.assertEqual(self.sandbox.dump_but_sequences(), dump)
        self.run_ok("ou", "create", "Contoso/Spare")
        self.run_ok("ou", "retire", "Contoso/Spare")
        self.run_ok("ou", "restore", "Contoso/Spare")
        self.assertTrue(self.sandbox.refuses("DELETE FROM ou WHERE path = 'Contoso/Spare'"))
        self.assert_fails(4, "ou", "delete", "Contoso/Spare", stderr="history")
        self.assertIn("Contoso/Spare", self.names("ou"))


if __name__ == "__main__":
    main()
