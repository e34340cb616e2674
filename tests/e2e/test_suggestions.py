"""Suggestions while concluding: which codes and tags, in which order, why, and for whom."""

from harness import BINARY, CAST, NimbusTestCase, main
from test_guided import Terminal

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


def call(session, agent, started, caller):
    return f"{session},Hotline,{agent},inbound,{started},,,{caller}\n"


class SuggestionsTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline"]}))
        self.init_hotline()
        for name in ("No sale", "Callback", "Complaint", "Unused"):
            self.run_ok("code", "create", "--type", "primary", "--name", name)
        self.run_ok("code", "create", "--type", "secondary", "--name", "Upsell")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,No sale,Callback,Complaint,Unused",
                    "--secondary", "Upsell")
        rows = (call("o-1", "mia", "2026-10-05T08:00:00Z", "+41 44 1") +   # October: not this month
                call("a-1", "mia", "2026-11-02T08:00:00Z", "+41 44 1") +
                call("a-2", "leo", "2026-11-03T08:00:00Z", "+41 44 1") +
                call("b-1", "leo", "2026-11-04T08:00:00Z", "+41 44 2") +
                call("b-2", "leo", "2026-11-05T08:00:00Z", "+41 44 2") +
                call("b-3", "mia", "2026-11-06T08:00:00Z", "+41 44 3") +
                call("new", "mia", "2026-11-26T09:00:00Z", "+41 44 1") +
                call("other", "mia", "2026-11-26T09:10:00Z", "+41 44 9"))
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER + rows)
        for session, agent, codes in (("o-1", "mia", ["--primary", "Complaint", "--tag", "V.I.P."]),
                                      ("a-1", "mia", ["--primary", "Callback", "--tag", "VIP"]),
                                      ("a-2", "leo", ["--primary", "Callback,Complaint", "--tag", "VIP",
                                                      "--secondary", "Upsell"]),
                                      ("b-1", "leo", ["--primary", "No sale", "--tag", "vip"]),
                                      ("b-2", "leo", ["--primary", "No sale", "--tag", "late"]),
                                      ("b-3", "mia", ["--primary", "Sale", "--tag", "VIP"])):
            self.run_ok("session", "conclude", session, *codes, "--as", agent)

    def suggested(self, session, *args):
        return [(row["kind"], row["name"], row["sessions"], row["reason"])
                for row in self.json_ok("session", "suggest", session, *args)]

    def test_codes_of_the_same_caller_first_then_this_month(self):
        self.assertEqual(self.suggested("new"), [
            ("primary", "Callback", 2, "used in 2 of 3 concluded sessions with this caller"),
            ("primary", "Complaint", 2, "used in 2 of 3 concluded sessions with this caller"),
            ("primary", "No sale", 2, "used in 2 of 5 concluded sessions of Hotline this month"),
            ("secondary", "Upsell", 1, "used in 1 of 3 concluded sessions with this caller"),
            ("tag", "VIP", 4, "used in 4 concluded sessions of Hotline in the last 90 days"),
            ("tag", "late", 1, "used in 1 concluded session of Hotline in the last 90 days"),
            ("tag", "V.I.P.", 1, "used in 1 concluded session of Hotline in the last 90 days"),
        ])
        # A caller without history: this month's codes only, most used first, then the list's order.
        self.assertEqual([(k, n) for k, n, _, _ in self.suggested("other") if k == "primary"],
                         [("primary", "No sale"), ("primary", "Callback"), ("primary", "Sale")])

    def test_an_agent_counts_only_the_sessions_they_may_see(self):
        rows = self.suggested("new", "--as", "mia")
        self.assertEqual(rows[:3], [
            ("primary", "Callback", 1, "used in 1 of your 2 concluded sessions with this caller"),
            ("primary", "Complaint", 1, "used in 1 of your 2 concluded sessions with this caller"),
            ("primary", "Sale", 1, "used in 1 of your 2 concluded sessions in Hotline this month"),
        ])
        self.assertNotIn("No sale", [name for _, name, _, _ in rows])  # only leo used it
        self.assertNotIn("late", [name for _, name, _, _ in rows])
        self.assertIn(("tag", "VIP", 2, "used in your 2 concluded sessions in Hotline in the last 90 days"),
                      rows)
        # Suggestions for a session one may not conclude: refused as concluding would be.
        self.assert_fails(3, "session", "suggest", "b-1", "--as", "mia")
        self.assert_fails(4, "session", "suggest", "a-1", stderr="a conclusion is final")

    def test_a_code_off_the_list_is_never_suggested(self):
        self.run_ok("service", "apply", "Hotline", "--remove-primary", "Callback")
        names = [name for kind, name, _, _ in self.suggested("new") if kind == "primary"]
        self.assertEqual(names, ["Complaint", "No sale", "Sale"])
        self.assertEqual(self.json_ok("service", "show", "Hotline")["primary"],
                         ["Sale", "No sale", "Complaint", "Unused"])  # the list's order is untouched

    def test_completion_offers_suggestions_first(self):
        def complete(*words):
            return self.run_ok("__complete", "--", *words).out.splitlines()

        self.assertEqual(complete("session", "conclude", "new", "--primary", ""),
                         ["Callback", "Complaint", "No sale", "Sale", "Unused"])
        self.assertEqual(complete("session", "conclude", "new", "--tag", ""), ["VIP", "late", "V.I.P."])
        self.assertEqual(complete("--as", "mia", "session", "conclude", "new", "--tag", ""),
                         ["VIP", "V.I.P."])

    def test_the_guided_menus_mark_and_explain_suggestions(self):
        term = Terminal([BINARY, "--as", "mia", "session", "conclude", "new", "--explain"],
                        self.sandbox.environment())
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        lines = [line.strip() for line in screen.replace("\r", "").splitlines()]
        self.assertTrue(any(line.endswith("Primary codes of Hotline (* suggested):\x1b[0m") for line in lines))
        menu = [line for line in lines if line[:1].isdigit()]
        self.assertEqual(menu[0], "1  Sale  * used in 1 of your 2 concluded sessions in Hotline this month")
        self.assertEqual(menu[2], "3  Callback  * used in 1 of your 2 concluded sessions with this caller")
        self.assertEqual(menu[4], "5  Unused")
        term.answer("3")
        term.expect("Secondary codes (numbers, e.g. 1 3; Enter to skip): ")
        term.answer("")
        screen = term.expect("Tags (comma-separated; Enter for none): ")
        self.assertIn("Tags used in Hotline lately: VIP, V.I.P.", screen)
        term.answer("v i p, fresh")
        term.expect('Tag "v i p": did you mean "VIP"? [Y/n] ')
        term.answer("")
        screen = term.expect("Conclude? [y/N] ")
        self.assertIn("tags:      VIP, fresh", screen)
        term.answer("y")
        self.assertEqual(term.wait(), 0, term.screen)
        self.assertEqual(self.json_ok("session", "show", "new")["tags"], ["VIP", "fresh"])

    def test_without_explain_the_menus_only_mark(self):
        term = Terminal([BINARY, "--as", "mia", "session", "conclude", "new"], self.sandbox.environment())
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        menu = [line.strip() for line in screen.replace("\r", "").splitlines() if line.strip()[:1].isdigit()]
        self.assertEqual(menu[:3], ["1  Sale  *", "2  No sale", "3  Callback  *"])
        term.answer("1")
        term.expect("Secondary codes (numbers, e.g. 1 3; Enter to skip): ")
        term.answer("")
        term.expect("Tags (comma-separated; Enter for none): ")
        term.answer("v.i.p.")
        term.expect('Tag "v.i.p.": did you mean "VIP"? [Y/n] ')  # the spelling most used
        term.answer("n")  # the agent's own spelling stays
        screen = term.expect("Conclude? [y/N] ")
        self.assertIn("tags:      v.i.p.", screen)
        term.answer("n")
        self.assertEqual(term.wait(), 130, term.screen)


if __name__ == "__main__":
    main()
