"""Session details: how long the call took and what the caller's earlier sessions were,
where a service has session-details on, and nothing of it where it is off."""

import csv
import os

from harness import BINARY, CAST, NimbusTestCase, main
from test_guided import Terminal

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller,waiting_seconds,talk_seconds\n"
CALLS = (
    "e-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:04:30Z,accepted,+41 44 1,,\n"
    "e-2,Hotline,leo,inbound,2026-11-21T08:00:00Z,2026-11-21T08:01:00Z,accepted,+41 44 1,,\n"
    "e-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,2026-11-22T08:00:40Z,abandoned,+41 44 1,40,\n"
    "now,Hotline,mia,inbound,2026-11-26T09:00:00Z,2026-11-26T09:07:05Z,accepted,+41 44 1,25,400\n"
    "live,Hotline,mia,inbound,2026-11-26T09:20:00Z,,,+41 44 2,,\n"
)
DETAILS = ("duration", "duration_seconds", "waiting_seconds", "talk_seconds", "earlier_sessions",
           "previous", "previous_conclusion")
LIVE_ENDED = "live,Hotline,mia,inbound,2026-11-26T09:20:00Z,2026-11-26T09:30:00Z,accepted,+41 44 2,{},{}\n"


class SessionDetailsTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline"]}))
        self.init_hotline()
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER + CALLS)
        self.run_ok("session", "conclude", "e-1", "--primary", "Sale", "--tag", "vip", "--as", "mia")
        self.run_ok("session", "conclude", "e-2", "--primary", "Sale", "--tag", "late", "--as", "leo")

    def test_nothing_of_it_where_session_details_is_off(self):
        shown = self.json_ok("session", "show", "now")
        for key in DETAILS:
            self.assertNotIn(key, shown)
        table = self.run_ok("session", "show", "now").out
        self.assertNotIn("EARLIER SESSIONS", table)
        self.assertNotIn("DURATION", table)

    def test_the_call_and_its_callers_history_where_it_is_on(self):
        self.run_ok("extension", "enable", "Hotline", "session-details")
        shown = self.json_ok("session", "show", "now")
        self.assertEqual(shown["duration_seconds"], 425)
        self.assertEqual(shown["earlier_sessions"], 3)
        self.assertEqual(shown["previous"], {"id": "e-2", "started_at": "2026-11-21T08:00:00Z",
                                             "concluded_at": "2026-11-26T09:30:00Z",
                                             "codes": [{"type": "primary", "name": "Sale"}], "tags": ["late"]})
        self.assertEqual((shown["waiting_seconds"], shown["talk_seconds"]), (25, 400))
        table = self.run_ok("session", "show", "now").out
        self.assertIn("DURATION             7 min 5 s", table)
        self.assertIn("WAITING              25 s", table)
        self.assertIn("TALK                 6 min 40 s", table)
        self.assertIn("PREVIOUS CONCLUSION  Sale; tags: late (session e-2, 2026-11-21T08:00:00Z)", table)
        live = self.json_ok("session", "show", "live")
        self.assertEqual((live["duration_seconds"], live["waiting_seconds"], live["talk_seconds"],
                          live["earlier_sessions"], live["previous"]), (None, None, None, 0, None))
        abandoned = self.json_ok("session", "show", "e-3")  # it waited, and nobody talked
        self.assertEqual((abandoned["waiting_seconds"], abandoned["talk_seconds"]), (40, None))
        self.assertIn("TALK                 \n", self.run_ok("session", "show", "e-3").out)
        self.assertIn("DURATION             active", self.run_ok("session", "show", "live").out)

    def test_the_export_carries_the_times(self):
        out = os.path.join(self.sandbox.dir, "model")
        self.run_ok("report", "export", "--dir", out, "--from", "2026-11-01", "--to", "2026-11-30")
        with open(os.path.join(out, "sessions.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0])[-3:], ["waiting_seconds", "talk_seconds", "concluded_by_default"])
        times = {r["session_id"]: (r["waiting_seconds"], r["talk_seconds"]) for r in rows}
        self.assertEqual(times, {"e-1": ("", ""), "e-2": ("", ""), "e-3": ("40", ""),
                                 "now": ("25", "400"), "live": ("", "")})

    def test_an_agent_sees_the_history_of_their_own_sessions(self):
        self.run_ok("extension", "enable", "Hotline", "session-details")
        shown = self.json_ok("session", "show", "now", "--as", "mia")
        self.assertEqual(shown["earlier_sessions"], 2)  # e-2 is leo's
        self.assertEqual(shown["previous"]["id"], "e-1")

    def test_without_it_an_agent_sees_what_picks_the_session(self):
        def fields(*args):
            shown = self.json_ok("session", "show", "e-1", *args)
            listed = next(s for s in self.json_ok("session", "list", *args) if s["id"] == "e-1")
            return ((shown["direction"], shown["outcome"], shown["outcome_group"]),
                    (listed["direction"], listed["outcome"]), (shown["started_at"], shown["ended_at"]))

        system = (("inbound", "accepted", "handled by user"), ("inbound", "accepted"))
        times = ("2026-11-20T08:00:00Z", "2026-11-20T08:04:30Z")
        self.assertEqual(fields("--as", "mia"), ((None, None, None), (None, None), times))
        for reader in ("olga", "sue", "sam"):  # who may read the service's sessions sees them
            self.assertEqual(fields("--as", reader), (*system, times), reader)
        self.run_ok("extension", "enable", "Hotline", "session-details")
        self.assertEqual(fields("--as", "mia"), (*system, times))

    def test_the_guided_conclusion_shows_the_details(self):
        self.run_ok("extension", "enable", "Hotline", "session-details")
        term = Terminal([BINARY, "--as", "mia", "session", "conclude", "now"], self.sandbox.environment())
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertIn("Call: inbound, started 2026-11-26T09:00:00Z, 7 min 5 s (waited 25 s, talked 6 min 40 s), "
                      "handled by user", screen)
        self.assertIn("Earlier: 2 sessions with this caller; the last concluded: Sale; tags: vip", screen)
        term.type("\x04")
        self.assertEqual(term.wait(), 130, term.screen)
        self.run_ok("extension", "disable", "Hotline", "session-details")
        term = Terminal([BINARY, "--as", "mia", "session", "conclude", "now"], self.sandbox.environment())
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertNotIn("Call:", screen)
        self.assertNotIn("Earlier:", screen)
        term.type("\x04")
        self.assertEqual(term.wait(), 130, term.screen)

    def test_times_arrive_with_the_end_of_a_call_concluded_while_active(self):
        self.run_ok("extension", "enable", "Hotline", "session-details")
        self.run_ok("session", "conclude", "live", "--primary", "Sale", "--as", "mia")
        imported = self.run_ok("session", "import", "-", "--input-format", "csv",
                               stdin=HEADER + LIVE_ENDED.format(30, 500)).err
        self.assertIn("1 completed", imported)
        shown = self.json_ok("session", "show", "live")
        self.assertEqual((shown["duration_seconds"], shown["waiting_seconds"], shown["talk_seconds"]),
                         (600, 30, 500))
        self.assertEqual(self.run_cli("verify").code, 0)
        # An export without the columns says nothing of them; one with other times is refused.
        older = "id,service,user,direction,started_at,ended_at,outcome,caller\n" + LIVE_ENDED.rsplit(",", 2)[0] + "\n"
        self.assertIn("1 unchanged", self.run_ok("session", "import", "-", "--input-format", "csv", stdin=older).err)
        before = self.sandbox.dump()
        result = self.assert_fails(65, "session", "import", "-", "--input-format", "csv",
                                   stdin=HEADER + LIVE_ENDED.format(30, 400))
        self.assertIn("<stdin>:2: session \"live\" is stored with other call data (talk_seconds 500 -> 400)",
                      result.err)
        self.assertEqual(self.sandbox.dump(), before)
        # A concluded session's times are final, whatever raw SQL tries; e-1 is
        # concluded, ended and without times: none can be added to it.
        live = "(SELECT id FROM session WHERE external_id = 'live')"
        for sql in (f"UPDATE session_times SET talk_seconds = 1 WHERE session_id = {live}",
                    f"DELETE FROM session_times WHERE session_id = {live}",
                    "INSERT INTO session_times (session_id, waiting_seconds) "
                    "SELECT id, 1 FROM session WHERE external_id = 'e-1'"):
            self.assertTrue(self.sandbox.refuses(sql), sql)
        self.assertEqual(self.sandbox.dump(), before)
        self.assertEqual(self.run_cli("verify").code, 0)

    def test_times_are_checked_and_a_bad_row_changes_nothing(self):
        before = self.sandbox.dump()
        rows = (
            "x-1,Hotline,mia,inbound,2026-11-26T10:00:00Z,,,+41 44 3,5,\n",
            "x-2,Hotline,mia,inbound,2026-11-26T10:00:00Z,2026-11-26T10:01:00Z,accepted,+41 44 3,1.5,\n",
            "x-3,Hotline,mia,inbound,2026-11-26T10:00:00Z,2026-11-26T10:01:00Z,accepted,+41 44 3,-1,\n",
            "x-4,Hotline,mia,inbound,2026-11-26T10:00:00Z,2026-11-26T10:01:00Z,accepted,+41 44 3,30,31\n",
            "x-6,Hotline,mia,inbound,2024-01-01T00:00:00Z,2026-01-01T00:00:00Z,accepted,+41 44 3,,40000000\n",
        )
        result = self.assert_fails(65, "session", "import", "-", "--input-format", "csv",
                                   stdin=HEADER + "".join(rows))
        for line in ("<stdin>:2: an active session (no ended_at) has no waiting_seconds or talk_seconds yet",
                     '<stdin>:3: waiting_seconds "1.5" is not a whole number of seconds',
                     '<stdin>:4: waiting_seconds "-1" is not a whole number of seconds',
                     "<stdin>:5: waiting_seconds and talk_seconds (61 s) are longer than the call from "
                     "started_at to ended_at (60 s)",
                     '<stdin>:6: talk_seconds "40000000" is longer than 366 days'):
            self.assertIn(line, result.err)
        self.assertEqual(self.sandbox.dump(), before)
        added = self.json_ok("session", "add", "--id", "x-5", "--service", "Hotline", "--user", "mia",
                             "--started-at", "2026-11-26T10:00:00Z", "--ended-at", "2026-11-26T10:01:00Z",
                             "--outcome", "accepted", "--waiting-seconds", "20", "--talk-seconds", "40")
        self.assertEqual(added["id"], "x-5")
        self.run_ok("extension", "enable", "Hotline", "session-details")
        shown = self.json_ok("session", "show", "x-5")
        self.assertEqual((shown["waiting_seconds"], shown["talk_seconds"]), (20, 40))


if __name__ == "__main__":
    main()
