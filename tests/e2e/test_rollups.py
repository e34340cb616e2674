"""Usage rollups: reports read the counts kept with every write, and give the
same report, byte for byte, as a recount of the sessions themselves (--recount),
over random stores, time zones, periods, dimensions and filters."""

import random

from harness import CAST, NimbusTestCase, main
from test_reports import sanitized_build

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"
SERVICES = ("Hotline", "Billing", "Desk")
PRIMARY = ("Sale", "Callback", "Complaint", "Order")
SECONDARY = ("Upsell", "Follow-up", "Survey")
TAGS = ("vip", "VIP", "Refund", "refund", "late", "Ärger")
AGENTS = ("mia", "leo", "ana", "tom")
# Whole hours, half hours (Kolkata), quarter hours (Kathmandu, Chatham), and
# zones whose offsets change at night (Zurich, Lord Howe by half an hour).
ZONES = ("UTC", "Europe/Zurich", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham",
         "America/St_Johns", "Australia/Lord_Howe", "America/Los_Angeles")
# Calls from late September to early January: several months, two offset changes.
WINDOW = (1790640000, 1799193600)  # 2026-09-29 .. 2027-01-06, UTC
# Random stores compared. A sanitized build checks the same code paths for memory
# errors with one (the unsanitized suite compares all three, on both engines).
STORES = 1 if sanitized_build() else 3


def iso(seconds):
    import datetime
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class RollupsTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, **{agent: {"name": agent.title(), "member": list(SERVICES)}
                                                  for agent in AGENTS if agent != "mia"}))

    def build_store(self, rng):
        """A store written by every path that changes a count: imports, conclusions
        (retroactive or not, in the agent's name), a rename between them, ends
        imported later, and a sweep's conclusions by default."""
        self.init_store()
        self.run_ok("ou", "create", "Contoso/Sales")
        for name in PRIMARY:
            self.run_ok("code", "create", "--type", "primary", "--name", name)
        for name in SECONDARY:
            self.run_ok("code", "create", "--type", "secondary", "--name", name)
        for service in SERVICES:
            self.run_ok("service", "create", service, "--ou", "Contoso/Sales", "--license", "contact-center")
            self.run_ok("service", "apply", service, "--primary", ",".join(PRIMARY),
                        "--secondary", ",".join(SECONDARY))
            self.run_ok("extension", "enable", service, "codes-and-tags")
        self.run_ok("service", "wrap-up", "Hotline", "--deadline", "1h", "--default-primary", "Callback",
                    env={"NIMBUS_CODES_NOW": "2026-09-01T00:00:00Z"})
        calls = []
        for i in range(rng.randint(60, 110)):
            started = rng.randint(*WINDOW)
            ended = None if rng.random() < 0.15 else started + rng.randint(0, 3600)
            calls.append([f"c{i}", rng.choice(SERVICES), rng.choice(AGENTS), started, ended])
        self.import_rows(calls)
        self.conclude_some(rng, calls, 0.45)
        self.run_ok("code", "edit", "Sale", "--name", "Sale (new)")
        # The ends of calls imported while they were open, concluded or not.
        for call in calls:
            if call[4] is None and rng.random() < 0.6:
                call[4] = call[3] + rng.randint(0, 7200)
        more = [[f"d{i}", rng.choice(SERVICES), rng.choice(AGENTS), rng.randint(*WINDOW), None]
                for i in range(rng.randint(10, 30))]
        for call in more:
            call[4] = call[3] + rng.randint(0, 600)
        self.import_rows(calls + more)
        self.conclude_some(rng, calls + more, 0.3)
        self.run_ok("session", "sweep", env={"NIMBUS_CODES_NOW": "2027-02-01T00:00:00Z"})

    def import_rows(self, calls):
        rows = "".join(f"{i},{service},{user},inbound,{iso(started)},{iso(ended) if ended else ''},"
                       f"{'accepted' if ended else ''},\n" for i, service, user, started, ended in calls)
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER + rows)

    def conclude_some(self, rng, calls, share):
        for call_id, service, user, started, ended in calls:
            if rng.random() >= share:
                continue
            args = ["session", "conclude", f"{service}/{call_id}", "--as", user]
            if rng.random() < 0.9:
                args += ["--primary", rng.choice(PRIMARY if rng.random() < 0.5 else ("Callback",))]
            for name in rng.sample(SECONDARY, rng.randint(0, 2)):
                args += ["--secondary", name]
            for tag in rng.sample(TAGS, rng.randint(0 if "--primary" in args else 1, 2)):
                args += ["--tag", tag]
            # During the call, or after it (retroactively), days later.
            when = iso(started + rng.randint(0, 1800 if rng.random() < 0.4 else 4 * 86400))
            result = self.run_cli(*args, env={"NIMBUS_CODES_NOW": when})
            # Concluded before (the sweep), a renamed code, two spellings of one tag: refused alike.
            self.assertIn(result.code, (0, 4, 3, 65), repr(result))

    def random_report(self, rng):
        # A table ends with the period's totals (sessions, concluded, retroactive).
        args = ["report", "usage", "--format", rng.choice(("table", "table", "json", "csv")),
                "--tz", rng.choice(ZONES)]
        if rng.random() < 0.5:
            args += ["--month", rng.choice(("2026-10", "2026-11", "2026-12"))]
        else:
            first = rng.randint(WINDOW[0], WINDOW[1])
            last = min(WINDOW[1], first + rng.randint(0, 70) * 86400)
            args += ["--from", iso(first)[:10], "--to", iso(last)[:10]]
        dims = []
        if rng.random() < 0.6:
            dims.append(rng.choice(("month", "day")))
        pool = ["service", "type", "code", "tag", "concluded-by"]
        if rng.random() < 0.15:
            pool.append("user")
        dims += rng.sample(pool, rng.randint(0, 3))
        if dims:
            args += ["--by", ",".join(dims)]
        if rng.random() < 0.2:
            args += ["--type", rng.choice(("primary", "secondary"))]
        if rng.random() < 0.15:
            args += ["--code", rng.choice(PRIMARY[1:] + SECONDARY)]
        if rng.random() < 0.1:
            args += ["--tag", rng.choice(TAGS)]
        if rng.random() < 0.3:
            args += ["--service", rng.choice(SERVICES)]
        if rng.random() < 0.2:
            args += ["--names", "current"]
        return args

    def assert_recount_equal(self, rng, reports):
        compared = 0
        for _ in range(reports):
            args = self.random_report(rng)
            kept = self.run_cli(*args)
            recounted = self.run_cli(*args, "--recount")
            self.assertEqual((kept.code, kept.out, kept.err), (recounted.code, recounted.out, recounted.err),
                             " ".join(args))
            compared += kept.code == 0
        # Most random reports are answered: the comparison is not of errors.
        self.assertGreater(compared, reports // 2)

    def test_rollups_give_the_reports_a_recount_gives(self):
        for seed in range(STORES):
            with self.subTest(seed=seed):
                rng = random.Random(seed)
                if seed:
                    self.sandbox.use_store(self.sandbox.new_store(f"store-{seed}.db"))
                self.build_store(rng)
                self.assertGreater(self.sandbox.count("SELECT count(*) FROM usage_codes"), 0)
                self.assert_recount_equal(rng, 30)

    def write_raw_sql(self):
        """Rows changed with SQL, as any client of the store may: the rollups follow."""
        open_session = ("SELECT {}(s.id) FROM session s WHERE s.ended_at IS NOT NULL AND NOT EXISTS "
                        "(SELECT 1 FROM conclusion c WHERE c.session_id = s.id)")
        gone = self.sandbox.rows(open_session.format("min"))[0][0]
        self.sandbox.rows(f"DELETE FROM session WHERE id = {gone}")
        self.sandbox.rows("UPDATE session SET started_at = started_at - 5000, ended_at = ended_at - 5000 "
                          f"WHERE id = ({open_session.format('max')})")
        self.sandbox.rows("UPDATE session SET ended_at = started_at + 100, outcome = 'accepted' WHERE id = "
                          "(SELECT min(s.id) FROM session s JOIN conclusion c ON c.session_id = s.id "
                          "WHERE s.ended_at IS NULL)")
        # Below the rollups' mark (an id given by hand), and beyond it.
        self.sandbox.rows("INSERT INTO session (id, external_id, service_id, \"user\", direction, started_at, "
                          f"ended_at, outcome, caller) VALUES ({gone}, 'raw-1', 1, 'mia', 'inbound', "
                          "1793600000, 1793600500, 'accepted', '')")
        self.sandbox.rows("INSERT INTO session (external_id, service_id, \"user\", direction, started_at, "
                          "ended_at, outcome, caller) VALUES ('raw-2', 2, 'leo', 'inbound', 1794000000, "
                          "1794000100, 'accepted', '')")
        raw = "(SELECT id FROM session WHERE external_id = 'raw-2')"
        self.sandbox.rows("INSERT INTO conclusion (session_id, concluded_at, \"user\", via, retroactive, "
                          f"code_count, tag_count) VALUES ({raw}, 1794000050, 'leo', NULL, 0, 1, 1)")
        self.sandbox.rows("INSERT INTO conclusion_code (session_id, position, code_id, type, name) VALUES "
                          f"({raw}, 1, (SELECT id FROM code WHERE name = 'Order'), 'primary', 'Order')")
        self.sandbox.rows("INSERT INTO conclusion_tag (session_id, position, tag, tag_key) VALUES "
                          f"({raw}, 1, 'Raw', 'raw')")
        # Two settled sessions concluded with three codes each: two of a type in one
        # statement, and the first of a type in a later statement.
        code = "(SELECT id FROM code WHERE name = '{0}'), '{1}', '{0}'"
        for offset, statements in ((5, [[(1, "Order", "primary"), (2, "Upsell", "secondary"),
                                         (3, "Survey", "secondary")]]),
                                   (6, [[(3, "Survey", "secondary")],
                                        [(1, "Order", "primary"), (2, "Upsell", "secondary")]])):
            sid = self.sandbox.rows(f"SELECT s.id FROM session s WHERE s.ended_at IS NOT NULL AND NOT EXISTS "
                                    "(SELECT 1 FROM conclusion c WHERE c.session_id = s.id) "
                                    f"ORDER BY s.id LIMIT 1 OFFSET {offset}")[0][0]
            self.sandbox.rows("INSERT INTO conclusion (session_id, concluded_at, \"user\", via, retroactive, "
                              f"code_count, tag_count) VALUES ({sid}, 1794000050, 'mia', NULL, 0, 3, 0)")
            for rows in statements:
                values = ", ".join(f"({sid}, {position}, {code.format(name, kind)})"
                                   for position, name, kind in rows)
                self.sandbox.rows(f"INSERT INTO conclusion_code (session_id, position, code_id, type, name) "
                                  f"VALUES {values}")

    def test_rollups_follow_raw_sql(self):
        rng = random.Random(7)
        self.build_store(rng)
        self.write_raw_sql()
        self.assert_recount_equal(rng, 30)
        # The next write settles the sessions beyond the mark.
        self.import_rows([["late", "Desk", "ana", 1794500000, 1794500300]])
        self.assertEqual(self.sandbox.rows("SELECT session_id FROM usage_settled"),
                         self.sandbox.rows("SELECT max(id) FROM session"))
        self.assert_recount_equal(rng, 30)

    def test_reports_read_the_rollups(self):
        rng = random.Random(99)
        self.build_store(rng)
        args = ("report", "usage", "--month", "2026-11", "--by", "code", "--format", "csv")
        before = self.run_ok(*args).out
        # Counts changed behind the store's back show in the report, not in a recount:
        # the report read them.
        self.sandbox.rows("UPDATE usage_codes SET sessions = sessions + 1000 "
                          "WHERE span = 86400 AND bucket >= 1793491200 AND bucket < 1796083200")
        self.assertNotEqual(self.run_ok(*args).out, before)
        self.assertEqual(self.run_ok(*args, "--recount").out, before)


if __name__ == "__main__":
    main()
