"""After-call work: a service's wrap-up deadline and default codes, the sessions past it,
and the sweep that concludes them by default, with a fixed clock."""

import csv
import json
import os
import subprocess

from harness import BINARY, CAST, NimbusTestCase, main

# The policy starts at 2026-11-20T00:00:00Z; the clock then stands at SWEEP_AT.
POLICY_FROM = "2026-11-20T00:00:00Z"
SWEEP_AT = "2026-11-26T12:00:00Z"
HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"
CALLS = (
    # Ended 2 h before the sweep: its 2 h deadline is the sweep's very second.
    "due,Hotline,mia,inbound,2026-11-26T09:55:00Z,2026-11-26T10:00:00Z,accepted,\n"
    # One second short of it.
    "fresh,Hotline,mia,inbound,2026-11-26T09:55:00Z,2026-11-26T10:00:01Z,accepted,\n"
    "older,Hotline,leo,inbound,2026-11-25T08:00:00Z,2026-11-25T08:05:00Z,accepted,\n"
    # Still on the phone: never swept, however long ago it began.
    "live,Hotline,mia,inbound,2026-11-21T08:00:00Z,,,\n"
    # Ended before the policy began.
    "before,Hotline,mia,inbound,2026-11-19T08:00:00Z,2026-11-19T08:05:00Z,accepted,\n"
)


class WrapUpTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline"]}))
        self.init_hotline()
        for command in (("code", "create", "--type", "primary", "--name", "Not concluded"),
                        ("code", "create", "--type", "secondary", "--name", "Follow-up"),
                        ("service", "apply", "Hotline", "--primary", "Sale,Not concluded",
                         "--secondary", "Follow-up")):
            self.run_ok(*command)
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER + CALLS)

    def set_policy(self, *extra):
        return self.run_ok("service", "wrap-up", "Hotline", "--deadline", "2h",
                           "--default-primary", "not concluded", *extra, "--as", "olga",
                           env={"NIMBUS_CODES_NOW": POLICY_FROM})

    def at(self, when, *args, **kwargs):
        return self.run_cli(*args, env={"NIMBUS_CODES_NOW": when}, **kwargs)

    def ids(self, result):
        self.assertEqual(result.code, 0, repr(result))
        return [row["id"] for row in result.json()]

    # The policy.

    def test_owners_set_the_policy_with_codes_from_the_lists(self):
        self.assert_fails(64, "service", "wrap-up", "Hotline", "--deadline", "2h", "--as", "olga",
                          stderr="give both --deadline and --default-primary")
        self.assert_fails(65, "service", "wrap-up", "Hotline", "--deadline", "2h",
                          "--default-primary", "Follow-up", "--as", "olga",
                          stderr='code "Follow-up" is not on the primary list')
        self.assert_fails(64, "service", "wrap-up", "Hotline", "--deadline", "2 hours",
                          "--default-primary", "Sale", stderr="is not a length of time")
        self.assert_fails(65, "service", "wrap-up", "Hotline", "--deadline", "30s",
                          "--default-primary", "Sale", stderr="outside 1m to 366d")
        self.assert_fails(77, "service", "wrap-up", "Hotline", "--deadline", "2h",
                          "--default-primary", "Sale", "--as", "mia")
        self.set_policy("--default-secondary", "follow-up")
        shown = self.json_ok("service", "show", "Hotline")
        self.assertEqual(shown["wrap_up"], {"deadline": "2h", "deadline_seconds": 7200,
                                            "default_primary": "Not concluded",
                                            "default_secondary": "Follow-up",
                                            "effective_from": POLICY_FROM})
        self.assertIn("WRAP-UP    2h, else Not concluded + Follow-up",
                      self.run_ok("service", "show", "Hotline").out)
        # Changing the deadline keeps the policy's start; so does naming the same codes.
        self.run_ok("service", "wrap-up", "Hotline", "--deadline", "1h30m", "--no-default-secondary")
        shown = self.json_ok("service", "show", "Hotline")["wrap_up"]
        self.assertEqual((shown["deadline"], shown["default_secondary"], shown["effective_from"]),
                         ("1h30m", None, POLICY_FROM))
        self.assertIn("unchanged", self.run_ok("service", "wrap-up", "Hotline", "--deadline", "90m").err)
        records = [r for r in self.json_ok("audit", "list") if r["action"] == "service.wrap-up"]
        self.assertEqual(len(records), 2)
        self.assertIsNone(records[0]["before"])

    def test_a_default_code_stays_on_its_list(self):
        self.set_policy("--default-secondary", "Follow-up")
        before = self.sandbox.dump_but_sequences()
        self.assert_fails(65, "service", "apply", "Hotline", "--primary", "Sale",
                          stderr="default primary code of service \"Hotline\"'s after-call work")
        self.assert_fails(65, "service", "apply", "Hotline", "--remove-secondary", "Follow-up")
        self.assert_fails(65, "code", "delete", "Not concluded")
        self.assertEqual(self.sandbox.dump_but_sequences(), before)
        self.run_ok("service", "wrap-up", "Hotline", "--off")
        self.assertIsNone(self.json_ok("service", "show", "Hotline")["wrap_up"])
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale")

    def test_configuration_as_code_carries_the_policy(self):
        self.set_policy("--default-secondary", "Follow-up")
        exported = self.run_ok("config", "export").out
        self.assertIn('wrap_up = { deadline = "2h", default_primary = "Not concluded", '
                      'default_secondary = "Follow-up" }', exported)
        config = self.write("config.toml", exported)
        self.assertEqual(self.run_ok("config", "plan", config).out, "")
        # A new default, and the old one off the list, in one file: the lists change first.
        changed = (exported.replace('primary = ["Sale", "Not concluded"]', 'primary = ["Sale"]')
                   .replace('default_primary = "Not concluded"', 'default_primary = "Sale"')
                   .replace('deadline = "2h"', 'deadline = "45m"'))
        planned = self.run_ok("config", "plan", self.write("changed.toml", changed)).out
        self.assertIn('wrap-up 2h, else "Not concluded" + "Follow-up" -> 45m, else "Sale" + "Follow-up"',
                      planned)
        self.run_ok("config", "apply", self.write("changed.toml", changed), "--prune")
        shown = self.json_ok("service", "show", "Hotline")
        self.assertEqual((shown["primary"], shown["wrap_up"]["deadline"], shown["wrap_up"]["default_primary"],
                          shown["wrap_up"]["effective_from"]), (["Sale"], "45m", "Sale", POLICY_FROM))
        # With --prune, a service the file gives no policy loses it; without, it keeps it.
        without = "\n".join(line for line in changed.splitlines() if not line.startswith("wrap_up"))
        self.run_ok("config", "apply", self.write("without.toml", without))
        self.assertIsNotNone(self.json_ok("service", "show", "Hotline")["wrap_up"])
        self.run_ok("config", "apply", self.write("without.toml", without), "--prune")
        self.assertIsNone(self.json_ok("service", "show", "Hotline")["wrap_up"])
        # A policy naming a code off its list is the file's error, at its line.
        bad = changed.replace('default_primary = "Sale"', 'default_primary = "Nope"')
        result = self.run_cli("config", "apply", self.write("bad.toml", bad))
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn('code "Nope" is not on the primary list', result.err)

    # What is overdue.

    def test_overdue_sessions_are_past_the_deadline_after_the_calls_end(self):
        self.set_policy()
        overdue = self.at(SWEEP_AT, "session", "list", "--overdue", "--format", "json")
        self.assertEqual(self.ids(overdue), ["older", "due"])  # the longest overdue first
        self.assertEqual(overdue.json()[1]["deadline_at"], "2026-11-26T12:00:00Z")
        # An agent sees their own; the owner the service's.
        self.assertEqual(self.ids(self.at(SWEEP_AT, "--as", "mia", "session", "list", "--overdue",
                                          "--format", "json")), ["due"])
        self.assertEqual(self.ids(self.at(SWEEP_AT, "--as", "olga", "session", "list", "--overdue",
                                          "--format", "json")), ["older", "due"])
        # A second later, the fresh one is due too.
        self.assertEqual(self.ids(self.at("2026-11-26T12:00:01Z", "session", "list", "--overdue",
                                          "--format", "json")), ["older", "due", "fresh"])
        for other in ("--open", "--concluded"):
            self.assert_fails(64, "session", "list", "--overdue", other)
        # Without codes and tags nothing can be concluded, so nothing is overdue.
        self.run_ok("extension", "disable", "Hotline", "codes-and-tags")
        self.assertEqual(self.ids(self.at(SWEEP_AT, "session", "list", "--overdue",
                                          "--format", "json")), [])

    # The sweep.

    def test_a_dry_run_lists_what_a_sweep_would_conclude(self):
        self.set_policy("--default-secondary", "Follow-up")
        before = self.sandbox.dump()
        planned = self.at(SWEEP_AT, "session", "sweep", "--dry-run", "--format", "json")
        self.assertEqual(planned.code, 0, repr(planned))
        self.assertEqual([(r["id"], r["user"], r["deadline_at"], r["primary"], r["secondary"])
                          for r in planned.json()],
                         [("older", "leo", "2026-11-25T10:05:00Z", ["Not concluded"], ["Follow-up"]),
                          ("due", "mia", "2026-11-26T12:00:00Z", ["Not concluded"], ["Follow-up"])])
        self.assertIn("dry run: 2 sessions past the deadline; nothing was concluded", planned.err)
        self.assertEqual(self.sandbox.dump(), before)

    def test_a_sweep_concludes_by_default_once_and_is_audited(self):
        self.set_policy()
        self.run_ok("session", "conclude", "older", "--primary", "Sale", "--as", "leo")
        swept = self.at(SWEEP_AT, "session", "sweep", "--format", "json")
        self.assertEqual(self.ids(swept), ["due"])
        self.assertIn("concluded 1 session by default; a conclusion is final", swept.err)
        due = self.json_ok("session", "show", "due")
        self.assertEqual((due["concluded_by"], due["via"], due["by_default"], due["concluded_at"]),
                         ("mia", "root", "2026-11-26T12:00:00Z", SWEEP_AT))
        self.assertEqual([c["name"] for c in due["codes"]], ["Not concluded"])
        self.assertEqual(due["tags"], [])
        # An agent's own conclusion is theirs; the sweep never touched it.
        older = self.json_ok("session", "show", "older")
        self.assertEqual((older["by_default"], [c["name"] for c in older["codes"]]), (None, ["Sale"]))
        # Idempotent: nothing is left to sweep, and the agent is told who concluded it.
        again = self.at(SWEEP_AT, "session", "sweep")
        self.assertIn("nothing to sweep", again.err)
        self.assert_fails(4, "session", "conclude", "due", "--primary", "Sale", "--as", "mia",
                          stderr="was concluded by default (its after-call work deadline "
                                 "2026-11-26T12:00:00Z had passed; swept by root)")
        # Reports tell the agents' conclusions from the sweep's.
        report = self.run_ok("report", "usage", "--month", "2026-11")
        self.assertIn("5 sessions, 2 concluded (1 by agents, 1 by default; 2 retroactively), "
                      "3 unconcluded", report.out)
        # Per agent, the share of their concluded sessions that the sweep concluded.
        split_by_agent = self.json_ok("report", "usage", "--month", "2026-11", "--by", "user,concluded-by")
        self.assertEqual([(r["user"], r["concluded_by"], r["sessions"], r["share"]) for r in split_by_agent],
                         [("leo", "agent", 1, 1.0), ("leo", "default", 0, 0.0),
                          ("mia", "agent", 0, 0.0), ("mia", "default", 1, 1.0)])
        by_code = self.json_ok("report", "usage", "--month", "2026-11", "--by", "concluded-by,code",
                               "--type", "primary")
        self.assertEqual([(r["concluded_by"], r["code"], r["sessions"]) for r in by_code],
                         [("agent", "Not concluded", 0), ("agent", "Sale", 1),
                          ("default", "Not concluded", 1), ("default", "Sale", 0)])
        summary = self.write("summary.json", "")
        self.run_ok("report", "usage", "--month", "2026-11", "--format", "json", "--summary", summary)
        with open(summary, encoding="utf-8") as f:
            split = json.load(f)
        self.assertEqual((split["concluded"], split["concluded_by_agents"], split["concluded_by_default"],
                          split["unconcluded"]), (2, 1, 1, 3))
        model = os.path.join(self.sandbox.dir, "model")
        self.run_ok("report", "export", "--dir", model, "--from", "2026-11-01", "--to", "2026-11-30")
        with open(os.path.join(model, "sessions.csv"), newline="", encoding="utf-8") as f:
            facts = {r["session_id"]: r["concluded_by_default"] for r in csv.DictReader(f)}
        self.assertEqual((facts["due"], facts["older"], facts["fresh"]), ("true", "false", ""))
        records = [r for r in self.json_ok("audit", "list") if r["action"] == "session.sweep"]
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["after"]["sessions"],
                         [{"id": "due", "user": "mia", "deadline_at": "2026-11-26T12:00:00Z"}])
        self.assertEqual(self.json_ok("verify")["ledger"], "ok")

    def test_only_tenant_admins_sweep(self):
        self.set_policy()
        for person in ("olga", "sam", "mia"):
            result = self.at(SWEEP_AT, "--as", person, "session", "sweep")
            self.assertEqual(result.code, 77, (person, repr(result)))
        self.assertEqual(self.ids(self.at(SWEEP_AT, "session", "list", "--overdue", "--format",
                                          "json")), ["older", "due"])

    def test_a_large_sweep_is_written_a_batch_at_a_time(self):
        self.set_policy()
        rows = "".join(f"b-{i},Hotline,mia,inbound,2026-11-25T08:00:00Z,2026-11-25T08:05:00Z,accepted,\n"
                       for i in range(2100))
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER + rows)
        swept = self.at(SWEEP_AT, "session", "sweep", "-q", "--format", "json")
        self.assertEqual(len(self.ids(swept)), 2102)
        records = [r for r in self.json_ok("audit", "list") if r["action"] == "session.sweep"]
        self.assertEqual(sorted(len(r["after"]["sessions"]) for r in records), [102, 1000, 1000])
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion_default"), 2102)

    def test_an_agent_and_a_sweep_racing_leave_exactly_one_conclusion(self):
        self.set_policy()
        for round_ in range(4):
            session = f"race-{round_}"
            self.run_ok("session", "import", "-", "--input-format", "csv",
                        stdin=HEADER + f"{session},Hotline,mia,inbound,2026-11-26T08:00:00Z,"
                                       "2026-11-26T08:05:00Z,accepted,\n")
            env = dict(self.sandbox.env, NIMBUS_CODES_NOW=SWEEP_AT)
            sweep = subprocess.Popen([BINARY, "session", "sweep", "-q"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            agent = subprocess.Popen([BINARY, "--as", "mia", "session", "conclude", session,
                                      "--primary", "Sale", "-q"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.assertEqual(sweep.wait(timeout=60), 0, sweep.stderr.read())
            agent_code = agent.wait(timeout=60)
            self.assertIn(agent_code, (0, 4), agent.stderr.read())
            shown = self.json_ok("session", "show", session)
            self.assertEqual(self.sandbox.count(
                "SELECT count(*) FROM conclusion c JOIN session s ON s.id = c.session_id "
                f"WHERE s.external_id = '{session}'"), 1)
            # Whoever won, the conclusion is the winner's whole: the agent's, or the default.
            if agent_code == 0:
                self.assertEqual(([c["name"] for c in shown["codes"]], shown["by_default"]), (["Sale"], None))
            else:
                self.assertEqual([c["name"] for c in shown["codes"]], ["Not concluded"])

    # Permanence.

    def test_the_default_mark_is_final(self):
        self.set_policy()
        self.run_ok("session", "conclude", "fresh", "--primary", "Sale", "--as", "mia")
        self.at(SWEEP_AT, "session", "sweep", "-q")
        ids = {external: self.sandbox.count(f"SELECT id FROM session WHERE external_id = '{external}'")
               for external in ("due", "fresh")}
        for sql in (f"DELETE FROM conclusion_default WHERE session_id = {ids['due']}",
                    f"UPDATE conclusion_default SET deadline_at = 0 WHERE session_id = {ids['due']}",
                    f"INSERT INTO conclusion_default VALUES ({ids['fresh']}, 0)"):
            self.assertTrue(self.sandbox.refuses(sql), sql)
        self.assertEqual(self.json_ok("session", "show", "fresh")["by_default"], None)
        self.assertEqual(self.json_ok("session", "show", "due")["by_default"], "2026-11-26T12:00:00Z")


if __name__ == "__main__":
    main()
