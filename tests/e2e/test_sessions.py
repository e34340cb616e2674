"""My Sessions: importing sessions and concluding them, exactly once."""

import os

from harness import CAST, ENGINE, LOGIN, NimbusTestCase, main

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"
SESSIONS = (
    "s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,+41 44 555 00 01\n"
    "s-2,Hotline,mia,inbound,2026-11-26T09:00:00+01:00,,,\"Müller, Hans\"\n"
    "s-3,hotline,alice,outbound,2026-11-21T10:00:00Z,2026-11-21T10:01:00Z,outbound-accepted,\n"
    "d-1,Desk,mia,inbound,2026-11-22T10:00:00Z,2026-11-22T10:02:00Z,abandoned,\n"
)


class SessionsTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("ou", "create", "Contoso/Support"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("code", "create", "--type", "primary", "--name", "No sale"),
            ("code", "create", "--type", "primary", "--name", "Complaint"),
            ("code", "create", "--type", "secondary", "--name", "Upsell"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale,No sale", "--secondary", "Upsell"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
            ("service", "create", "Desk", "--ou", "Contoso/Support", "--license", "basic-routing"),
            ("service", "apply", "Desk", "--primary", "Complaint"),
        ):
            self.run_ok(*command)
        self.csv = self.write("sessions.csv", HEADER + SESSIONS)
        self.run_ok("session", "import", self.csv)

    def session_count(self):
        return self.sandbox.count("SELECT count(*) FROM session")

    def conclude(self, session, *args):
        return self.run_cli("session", "conclude", session, *args)

    def test_import_reports_and_stores_utc(self):
        s2 = self.json_ok("session", "show", "s-2")
        self.assertEqual(s2["started_at"], "2026-11-26T08:00:00Z")
        self.assertIsNone(s2["ended_at"])
        self.assertEqual(s2["caller"], "Müller, Hans")
        result = self.run_ok("session", "import", self.csv, "--format", "json")
        self.assertEqual(result.json(), {"source": self.csv, "rows": 4, "inserted": 0, "completed": 0,
                                         "unchanged": 4, "invalid": 0})
        self.assertIn("0 new, 0 completed, 4 unchanged", result.err)

    def test_member_lists_own_sessions_newest_first(self):
        mine = self.json_ok("session", "list", "--as", "mia")
        self.assertEqual([s["id"] for s in mine], ["s-2", "d-1", "s-1"])
        self.assertEqual([s["concluded"] for s in mine], [False, False, False])
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--as", "olga")],
                         ["s-2", "s-3", "s-1"])  # her service's sessions, whoever took them
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--as", "sam")],
                         ["s-2", "s-3", "s-1"])  # OU admin of Contoso/Sales
        self.assertEqual(len(self.json_ok("session", "list")), 4)
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--mine", "--as", "alice")], ["s-3"])
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--service", "Desk")], ["d-1"])
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--since", "2026-11-22")], ["s-2", "d-1"])
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--limit", "1")], ["s-2"])
        # A colleague's session is as unknown to her as one that does not exist.
        self.assert_fails(3, "session", "show", "s-3", "--as", "mia", stderr='session "s-3" does not exist')

    def test_conclude_show_and_once_only(self):
        concluded = self.json_ok("session", "conclude", "s-1", "--primary", "Sale", "--secondary", "upsell",
                                 "--tag", "  VIP   customer ", "--tag", "vip CUSTOMER", "--tag", "Rückruf",
                                 "--as", "mia")
        self.assertEqual(concluded["codes"], [{"id": 1, "type": "primary", "name": "Sale"},
                                              {"id": 4, "type": "secondary", "name": "Upsell"}])
        self.assertEqual(concluded["tags"], ["VIP customer", "Rückruf"])
        self.assertEqual((concluded["concluded_by"], concluded["via"]), ("mia", LOGIN))
        self.assertEqual(concluded["concluded_at"], "2026-11-26T09:30:00Z")
        self.assertTrue(concluded["retroactive"])  # it ended on 20 November
        shown = self.json_ok("session", "show", "s-1", "--as", "mia")
        self.assertEqual(shown["offered_primary"], ["Sale", "No sale"])
        self.assertEqual(shown["offered_secondary"], ["Upsell"])
        # Without session-details, the agent sees what picks the session, not its system fields.
        self.assertEqual((shown["direction"], shown["outcome"], shown["outcome_group"]), (None, None, None))
        self.assertEqual(self.json_ok("session", "show", "s-1")["outcome_group"], "handled by user")
        self.assertEqual(shown["codes"], concluded["codes"])
        second = self.assert_fails(4, "session", "conclude", "s-1", "--primary", "No sale",
                                   stderr=f'session "s-1" was concluded by mia via {LOGIN} at 2026-11-26T09:30:00Z')
        self.assertIn("final", second.err)
        self.assertEqual(self.json_ok("session", "list", "--concluded")[0]["id"], "s-1")
        self.assertEqual([s["id"] for s in self.json_ok("session", "list", "--open")], ["s-2", "d-1", "s-3"])

    def test_conclude_takes_code_lists_as_service_apply_does(self):
        # Sale and No sale both primary: a list in one option, as `service apply --primary`.
        concluded = self.json_ok("session", "conclude", "s-1", "--primary", "No sale,Sale",
                                 "--secondary", "upsell", "--as", "mia")
        self.assertEqual([c["name"] for c in concluded["codes"]], ["No sale", "Sale", "Upsell"])
        # Repeated and listed mix; a code given twice is still refused.
        self.assert_fails(65, "session", "conclude", "s-2", "--primary", "Sale,No sale", "--primary", "sale",
                          "--as", "mia", stderr='code "Sale" is given twice')
        # Tags are free text and are never split.
        tagged = self.json_ok("session", "conclude", "s-2", "--primary", "id:1", "--tag", "call back, Monday",
                              "--as", "mia")
        self.assertEqual(tagged["tags"], ["call back, Monday"])

    def test_conclusion_keeps_names_as_they_were(self):
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale")
        self.run_ok("code", "edit", "Sale", "--name", "Closed deal")
        self.assertEqual(self.json_ok("session", "show", "s-1")["codes"][0]["name"], "Sale")

    def test_concluding_an_active_call_is_not_retroactive(self):
        concluded = self.json_ok("session", "conclude", "s-2", "--tag", "callback", "--as", "mia")
        self.assertFalse(concluded["retroactive"])
        # The call's end may still arrive afterwards.
        completed = HEADER + "s-2,Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T08:20:00Z,accepted,\"Müller, Hans\"\n"
        result = self.run_ok("session", "import", self.write("end.csv", completed))
        self.assertIn("1 completed", result.err)
        shown = self.json_ok("session", "show", "s-2")
        self.assertEqual(shown["ended_at"], "2026-11-26T08:20:00Z")
        self.assertEqual(shown["tags"], ["callback"])
        # Concluded at 09:30, after the end now known (08:20): retroactive from now on.
        self.assertEqual(shown["concluded_at"], "2026-11-26T09:30:00Z")
        self.assertTrue(shown["retroactive"])

    def test_preconditions(self):
        self.assert_fails(3, "session", "conclude", "nope", "--primary", "Sale", stderr='session "nope" does not exist')
        self.assert_fails(3, "session", "conclude", "s-3", "--primary", "Sale", "--as", "mia",
                          stderr='session "s-3" does not exist')  # a colleague's: out of her reach
        self.assert_fails(77, "session", "conclude", "s-1", "--primary", "Sale", "--as", "sue")  # supervisors read
        self.assert_fails(69, "session", "conclude", "d-1", "--primary", "Complaint", "--as", "mia",
                          stderr='codes and tags are not enabled for service "Desk"')
        result = self.assert_fails(65, "session", "conclude", "s-1", "--primary", "Upsell", "--secondary", "Sale",
                                   stderr='code "Upsell" is not in the primary list of service "Hotline"')
        self.assertIn("allowed primary codes: Sale, No sale; secondary: Upsell", result.err)
        self.assert_fails(64, "session", "conclude", "s-1", stderr="missing: at least one --primary, --secondary or --tag")
        self.assert_fails(65, "session", "conclude", "s-1", "--primary", "Sale", "--primary", "sale",
                          stderr='code "Sale" is given twice')
        self.assert_fails(65, "session", "conclude", "s-1", "--tag", "x" * 51, stderr="the limit is 50")
        self.assert_fails(65, "session", "conclude", "s-1", *sum((["--tag", f"t{i}"] for i in range(21)), []),
                          stderr="at most 20")
        self.assert_fails(65, "session", "conclude", "s-1", "--tag", "bell\x07", stderr="control character")
        self.assert_fails(65, "session", "conclude", "s-1", "--tag", "   ", stderr="a tag is empty")
        self.run_ok("code", "delete", "No sale")
        self.assert_fails(65, "session", "conclude", "s-1", "--primary", "No sale")
        self.assertFalse(self.json_ok("session", "show", "s-1")["concluded"])
        # Owners and admins in scope may conclude for their agents.
        self.run_ok("session", "conclude", "s-3", "--primary", "Sale", "--as", "olga")
        self.run_ok("session", "conclude", "s-1", "--tag", "ok", "--as", "sam")

    def test_raw_sql_cannot_change_a_conclusion(self):
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale", "--tag", "vip")
        statements = [
            "UPDATE conclusion SET \"user\" = 'mallory'",
            "DELETE FROM conclusion",
            "UPDATE conclusion_code SET name = 'Forged'",
            "DELETE FROM conclusion_code",
            "UPDATE conclusion_tag SET tag = 'forged'",
            "DELETE FROM conclusion_tag",
            "INSERT INTO conclusion_tag SELECT session_id, 9, 'more', 'more' FROM conclusion",
            "UPDATE session SET \"user\" = 'mallory' WHERE external_id = 's-1'",
            "DELETE FROM session WHERE external_id = 's-1'",
        ]
        if ENGINE == "postgresql":
            statements += [
                "TRUNCATE conclusion_tag", "TRUNCATE conclusion_code", "TRUNCATE conclusion CASCADE",
                "TRUNCATE session CASCADE",
                "INSERT INTO conclusion SELECT session_id, 0, 'mallory', NULL, 0, 0, 1 FROM conclusion "
                "ON CONFLICT (session_id) DO UPDATE SET \"user\" = 'mallory'",
                "INSERT INTO conclusion_code SELECT session_id, 1, 2, 'primary', 'No sale' FROM conclusion "
                "ON CONFLICT (session_id, position) DO UPDATE SET name = 'No sale'",
                "INSERT INTO session (external_id, service_id, \"user\", direction, started_at) "
                "VALUES ('s-1', 1, 'mallory', 'inbound', 0) "
                "ON CONFLICT (external_id) DO UPDATE SET \"user\" = 'mallory'",
            ]
        else:
            statements += [
                "INSERT OR REPLACE INTO conclusion SELECT session_id, 0, 'mallory', NULL, 0, 0, 1 FROM conclusion",
                "INSERT OR REPLACE INTO conclusion_code SELECT session_id, 1, 2, 'primary', 'No sale' "
                "FROM conclusion",
                "INSERT OR REPLACE INTO session (external_id, service_id, user, direction, started_at) "
                "VALUES ('s-1', 1, 'mallory', 'inbound', 0)",
            ]
        for statement in statements:
            self.assertTrue(self.sandbox.refuses(statement), statement)
        # The static outcome table and the code lists' rules, on both engines.
        for statement in ("INSERT INTO outcome VALUES ('forged', 'error', NULL, 99)",
                          "UPDATE outcome SET outcome_group = 'error'",
                          "DELETE FROM outcome",
                          "UPDATE service_code SET code_id = (SELECT id FROM code WHERE type = 'secondary' LIMIT 1) "
                          "WHERE list = 'primary'"):
            self.assertTrue(self.sandbox.refuses(statement), statement)
        # Not concluded: allowed.
        self.assertFalse(self.sandbox.refuses("UPDATE session SET \"user\" = 'x' WHERE external_id = 's-2'"))
        shown = self.json_ok("session", "show", "s-1")
        self.assertEqual((shown["concluded_by"], shown["codes"][0]["name"], shown["tags"]), (LOGIN, "Sale", ["vip"]))

    def test_bad_rows_are_reported_and_nothing_is_written(self):
        before = self.session_count()
        bad = (HEADER
               + "n-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n"
               + "n-2,Nowhere,mia,inbound,2026-11-26T08:00:00Z,,,\n"
               + "n-3,Hotline,nobody,inbound,2026-11-26T08:00:00Z,,,\n"
               + "n-4,Hotline,mia,sideways,2026-11-26T08:00:00Z,,,\n"
               + "n-5,Hotline,mia,inbound,yesterday,,,\n"
               + "n-6,Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T07:00:00Z,accepted,\n"
               + "n-7,Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T09:00:00Z,exploded,\n"
               + "n-8,Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T09:00:00Z,,\n"
               + "s-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:06:00Z,accepted,+41 44 555 00 01\n"
               + "n-9,Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T09:00:00Z,outbound-accepted,\n"
               + "n-10,Hotline,mia\n"
               + "n-11,Hotline,mia,inbound,\"2026-11-26T08:00:00Z\"x,,,\n")
        path = self.write("bad.csv", bad)
        result = self.assert_fails(65, "session", "import", path, stderr="11 of 12 rows are invalid; nothing was imported")
        for line, reason in ((3, 'service "Nowhere" does not exist'), (4, 'user "nobody" is not in the identity file'),
                             (5, 'direction "sideways"'), (6, 'started_at "yesterday"'),
                             (7, "ended_at is before started_at"), (8, 'outcome "exploded" is not one of'),
                             (9, "a session that ended needs an outcome"), (10, 'session "s-1" is stored with other call data (ended_at'),
                             (11, 'outcome "outbound-accepted" does not occur on inbound sessions'),
                             (12, "3 fields, but the header has 8"), (13, "text after a closing quote")):
            self.assertIn(f"{path}:{line}: {reason}", result.err)
        self.assertEqual(self.session_count(), before)

    def test_skip_invalid_imports_the_good_rows(self):
        path = self.write("mixed.jsonl",
                          '{"id": "j-1", "service": "Hotline", "user": "mia", "direction": "inbound", '
                          '"started_at": "2026-11-26T08:00:00Z", "ended_at": null, "caller": "x"}\n'
                          'not json\n'
                          '\n'
                          '{"id": "j-2", "service": "Hotline", "user": "mia", "direction": "inbound", '
                          '"started_at": "2026-11-26T08:00:00Z", "ended_at": 5}\n')
        result = self.run_cli("session", "import", path, "--skip-invalid", "--format", "json")
        self.assertEqual(result.code, 0, repr(result))  # committed: never a failure afterwards
        self.assertEqual(result.json()["invalid"], 2)
        self.assertIn(f"{path}:2: not a JSON object", result.err)
        self.assertIn(f'{path}:4: "ended_at" must be a string', result.err)
        self.assertIn("nimbus-codes: warning: skipped 2 invalid rows", result.err)
        self.assertEqual(self.json_ok("session", "show", "j-1")["caller"], "x")

    def test_many_bad_rows_are_summarised(self):
        rows = "".join(f"x-{i},Nowhere,mia,inbound,2026-11-26T08:00:00Z,,,\n" for i in range(150))
        result = self.assert_fails(65, "session", "import", self.write("many.csv", HEADER + rows))
        self.assertEqual(result.err.count("does not exist"), 100)
        self.assertIn("... and 50 more invalid rows", result.err)

    def test_import_from_stdin_needs_a_format(self):
        self.assert_fails(64, "session", "import", "-", stdin=HEADER, stderr="--input-format")
        result = self.run_ok("session", "import", "-", "--input-format", "csv",
                             stdin=HEADER + "p-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n")
        self.assertIn("1 new", result.err)
        self.assert_fails(66, "session", "import", os.path.join(self.sandbox.dir, "missing.csv"))

    def test_import_roles(self):
        before = self.session_count()
        rows = HEADER + "o-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\no-2,Desk,mia,inbound,2026-11-26T08:00:00Z,,,\n"
        path = self.write("both.csv", rows)
        self.assert_fails(77, "session", "import", path, "--as", "olga",
                          stderr='may not import sessions of service "Desk"')
        self.assert_fails(77, "session", "import", path, "--as", "mia")
        self.assert_fails(77, "session", "import", path, "--as", "sue")
        self.assertEqual(self.session_count(), before)
        self.run_ok("session", "import", self.write("own.csv", HEADER + "o-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n"),
                    "--as", "olga")

    def same_id_in_two_services(self):
        """d-9 in Desk (dan's call, imported by Desk's owner dora) and in
        Hotline (mia's, imported by Hotline's owner olga)."""
        self.sandbox.write_identity(dict(CAST, dora={"name": "Dora Owner", "owner": ["Desk"]},
                                         dan={"name": "Dan Member", "member": ["Desk"]}))
        desk = self.run_ok("session", "import", self.write("desk.csv", HEADER
                           + "d-9,Desk,dan,inbound,2026-11-26T07:13:00Z,2026-11-26T07:20:00Z,accepted,+41 44 1\n"),
                           "--as", "dora")
        self.assertIn("1 new", desk.err)
        hotline = self.run_ok("session", "import", self.write("mine.csv", HEADER
                              + "d-9,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n"), "--as", "olga")
        self.assertIn("1 new", hotline.err)
        return hotline

    def test_the_same_id_in_two_services_is_two_sessions(self):
        hotline = self.same_id_in_two_services()
        # Nothing of Desk's d-9 reached Hotline's owner, by any way she may ask.
        shown = self.json_ok("session", "show", "d-9", "--as", "olga")
        self.assertEqual((shown["service"], shown["user"]), ("Hotline", "mia"))
        listed = self.json_ok("session", "list", "--as", "olga")
        self.assertEqual([(s["id"], s["service"]) for s in listed if s["id"] == "d-9"], [("d-9", "Hotline")])
        again = self.run_ok("session", "add", "--id", "d-9", "--service", "Hotline", "--user", "mia",
                            "--started-at", "2026-11-26T08:00:00Z", "--as", "olga")
        self.assertIn("unchanged: session d-9", again.err)
        other = self.assert_fails(4, "session", "add", "--id", "d-9", "--service", "Hotline", "--user", "olga",
                                  "--started-at", "2026-11-26T08:00:00Z", "--as", "olga",
                                  stderr="user mia -> olga")  # her own d-9: she may see what differs
        hidden = self.assert_fails(3, "session", "show", "Desk/d-9", "--as", "olga",
                                   stderr='session "Desk/d-9" does not exist')
        for result in (hotline, again, other, hidden,
                       self.run_ok("session", "list", "--as", "olga"), self.run_ok("session", "show", "d-9", "--as", "olga")):
            for secret in ("dan", "07:13", "07:20", "Desk", "+41 44 1"):
                self.assertNotIn(secret, result.out + result.err.replace('"Desk/d-9"', ""))
        # Desk's owner sees hers alone; each names her own by its bare id (Desk
        # has no codes and tags: that is what its owner hears).
        shown = self.json_ok("session", "show", "d-9", "--as", "dora")
        self.assertEqual((shown["service"], shown["user"], shown["caller"]), ("Desk", "dan", "+41 44 1"))
        self.assert_fails(69, "session", "conclude", "d-9", "--primary", "Complaint", "--as", "dora",
                          stderr='codes and tags are not enabled for service "Desk"')
        self.assertEqual(self.json_ok("session", "conclude", "d-9", "--primary", "Sale", "--as", "olga")["service"],
                         "Hotline")
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM session WHERE external_id = 'd-9'"), 2)
        # The audit trail tells the two apart: the conclusion names its service.
        concluded = [entry for entry in self.json_ok("audit", "list") if entry["action"] == "session.conclude"]
        self.assertEqual([(entry["target"], entry["after"]["service"]) for entry in concluded],
                         [("session d-9", "Hotline")])
        # Re-importing either is idempotent, the conclusions notwithstanding.
        self.assertIn("1 unchanged", self.run_ok("session", "import", self.sandbox.dir + "/mine.csv", "--as", "olga").err)
        self.assertIn("1 unchanged", self.run_ok("session", "import", self.sandbox.dir + "/desk.csv", "--as", "dora").err)

    def test_an_id_in_several_services_one_sees_is_named_service_slash_id(self):
        self.same_id_in_two_services()
        before = self.sandbox.dump()
        for command in (("session", "show", "d-9"), ("session", "conclude", "d-9", "--primary", "Sale")):
            result = self.assert_fails(64, *command,
                                       stderr='session id "d-9" names sessions of more than one service: '
                                              'Desk/d-9, Hotline/d-9')
            self.assertIn("name one of them as SERVICE/ID", result.err)
        self.assertEqual(self.sandbox.dump(), before)
        # Listed and shown by the plain id, beside the service.
        listed = self.json_ok("session", "list")
        self.assertEqual(sorted((s["id"], s["service"]) for s in listed if s["id"] == "d-9"),
                         [("d-9", "Desk"), ("d-9", "Hotline")])
        self.assertEqual(self.json_ok("session", "show", "Desk/d-9")["user"], "dan")
        shown = self.json_ok("session", "show", " hotline/d-9")  # a service name in any case, trimmed
        self.assertEqual((shown["id"], shown["service"], shown["user"]), ("d-9", "Hotline", "mia"))
        concluded = self.run_ok("session", "conclude", "Hotline/d-9", "--primary", "Sale", "--format", "json")
        self.assertEqual((concluded.json()["id"], concluded.json()["service"]), ("d-9", "Hotline"))
        self.assertIn("concluded session d-9;", concluded.err)
        self.assertFalse(self.json_ok("session", "show", "Desk/d-9")["concluded"])
        self.assert_fails(4, "session", "conclude", "Hotline/d-9", "--tag", "again",
                          stderr="see it with 'nimbus-codes session show Hotline/d-9'")
        # Not a service, or not its session: as unknown as any other id.
        self.assert_fails(3, "session", "show", "Nowhere/d-9", stderr='session "Nowhere/d-9" does not exist')
        self.assert_fails(3, "session", "show", "Hotline/s-9", stderr='session "Hotline/s-9" does not exist')

    def test_an_id_with_a_slash_is_still_its_own_name(self):
        self.run_ok("session", "import", self.write("slash.csv", HEADER
                    + "x/1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n"
                    + "Desk/s-1,Hotline,mia,inbound,2026-11-26T08:01:00Z,,,\n"
                    + "s-1,Desk,mia,inbound,2026-11-26T08:01:00Z,,,\n"
                    + "x/1,Desk,mia,inbound,2026-11-26T08:02:00Z,,,\n"))
        # The whole argument is an id first: Hotline's "Desk/s-1", not Desk's s-1.
        self.assertEqual(self.json_ok("session", "show", "Desk/s-1")["id"], "Desk/s-1")
        self.assert_fails(64, "session", "show", "x/1", stderr="Desk/x/1, Hotline/x/1")
        self.assertEqual(self.json_ok("session", "show", "Hotline/x/1")["service"], "Hotline")
        concluded = self.json_ok("session", "conclude", "Hotline/x/1", "--primary", "Sale", "--as", "mia")
        self.assertEqual((concluded["id"], concluded["service"]), ("x/1", "Hotline"))
        self.assertEqual(self.json_ok("session", "show", "Desk/x/1")["concluded"], False)

    def test_one_who_sees_one_of_them_names_it_by_the_bare_id(self):
        self.same_id_in_two_services()
        # mia is a member of Hotline: she sees her own sessions, Desk's d-9 is not one.
        self.assertEqual(self.json_ok("session", "show", "d-9", "--as", "mia")["service"], "Hotline")
        self.assertEqual([s["service"] for s in self.json_ok("session", "list", "--as", "mia") if s["id"] == "d-9"],
                         ["Hotline"])
        concluded = self.run_ok("session", "conclude", "d-9", "--primary", "Sale", "--as", "mia")
        for secret in ("Desk", "dan", "07:13"):
            self.assertNotIn(secret, concluded.out + concluded.err)
        self.assert_fails(3, "session", "show", "Desk/d-9", "--as", "mia", stderr='session "Desk/d-9" does not exist')
        # The supervisor of Hotline likewise; Desk's member sees Desk's.
        self.assertEqual(self.json_ok("session", "show", "d-9", "--as", "sue")["concluded"], True)
        self.assertEqual(self.json_ok("session", "show", "d-9", "--as", "dan")["service"], "Desk")

    def test_the_store_refuses_a_second_session_with_the_same_service_and_id(self):
        duplicate = ("INSERT INTO session (external_id, service_id, \"user\", direction, started_at) "
                     "SELECT external_id, service_id, 'alice', direction, started_at FROM session "
                     "WHERE external_id = '{}'")
        for session in ("s-1", "s-2"):  # concluded or not
            if session == "s-1":
                self.run_ok("session", "conclude", "s-1", "--primary", "Sale")
            before = self.sandbox.rows("SELECT * FROM session ORDER BY id")
            self.assertTrue(self.sandbox.refuses(duplicate.format(session)), session)
            self.assertEqual(self.sandbox.rows("SELECT * FROM session ORDER BY id"), before)
        # The same id in another service is another session.
        self.assertFalse(self.sandbox.refuses(
            "INSERT INTO session (external_id, service_id, \"user\", direction, started_at) "
            "SELECT external_id, (SELECT id FROM service WHERE name = 'Desk'), \"user\", direction, started_at "
            "FROM session WHERE external_id = 's-1'"))
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM session WHERE external_id = 's-1'"), 2)

    def test_session_add(self):
        added = self.json_ok("session", "add", "--id", "a-1", "--service", "Hotline", "--user", "mia",
                             "--started-at", "2026-11-26T10:00:00+01:00", "--caller", "+41")
        self.assertEqual((added["id"], added["started_at"], added["direction"]), ("a-1", "2026-11-26T09:00:00Z", "inbound"))
        self.assertIn("unchanged", self.run_ok("session", "add", "--id", "a-1", "--service", "Hotline", "--user", "mia",
                                               "--started-at", "2026-11-26T09:00:00Z", "--caller", "+41").err)
        self.assert_fails(4, "session", "add", "--id", "a-1", "--service", "Hotline", "--user", "alice",
                          "--started-at", "2026-11-26T09:00:00Z", stderr="stored with other call data")
        self.assert_fails(65, "session", "add", "--id", "a-2", "--service", "Hotline", "--user", "mia",
                          "--started-at", "now")
        self.assertEqual(self.json_ok("audit", "list")[-1]["action"], "session.add")


if __name__ == "__main__":
    main()
