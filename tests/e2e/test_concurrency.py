"""Exactly once under contention: many processes concluding at the same time."""

import subprocess

from harness import BINARY, BUSY_TIMEOUT, COMMAND, NimbusTestCase, main, time_limit

class ConcurrencyTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_hotline()

    def start(self, *args):
        return subprocess.Popen([BINARY, *args], env=self.sandbox.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def test_eight_processes_race_for_one_session(self):
        self.import_calls([f"race-{round}" for round in range(20)])
        for round in range(20):
            racers = [self.start("session", "conclude", f"race-{round}", "--primary", "Sale",
                                 "--tag", f"racer {n}", "--as", "mia") for n in range(8)]
            outcomes = []
            for racer in racers:
                # Each may wait its busy timeout for the others (the harness's,
                # not the product's 5 s), then run.
                _, err = racer.communicate(timeout=BUSY_TIMEOUT + COMMAND)
                outcomes.append((racer.returncode, err.decode()))
            codes = sorted(code for code, _ in outcomes)
            self.assertEqual(codes, [0] + [4] * 7, outcomes)
            for code, err in outcomes:
                if code == 4:
                    self.assertIn("was concluded by mia", err)
                self.assertNotIn("locked", err)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 20)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion_tag"), 20)

    def test_sixteen_processes_conclude_a_thousand_sessions(self):
        ids = [f"s-{n}" for n in range(1000)]
        self.import_calls(ids)
        # Each process concludes its share, one invocation per session; every
        # one must be acknowledged (exit 0), so none may be missing afterwards.
        script = 'for id in "$@"; do "$NIMBUS" session conclude "$id" --primary Sale --tag "$id" --as mia -q || exit $?; done'
        env = dict(self.sandbox.env, NIMBUS=BINARY)
        workers = [subprocess.Popen(["bash", "-c", script, "worker", *ids[worker::16]],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                   for worker in range(16)]
        for worker in workers:
            _, err = worker.communicate(timeout=time_limit(15))  # PostgreSQL: 12 s for all
            self.assertEqual(worker.returncode, 0, err.decode())
        concluded = {s["id"] for s in self.json_ok("session", "list", "--concluded")}
        self.assertEqual(concluded, set(ids))
        # None doubled: one conclusion, one code and its own tag per session.
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 1000)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion_code"), 1000)
        self.assertEqual(self.sandbox.count(
            "SELECT count(*) FROM conclusion_tag t JOIN session s ON s.id = t.session_id "
            "WHERE t.tag = s.external_id"), 1000)


if __name__ == "__main__":
    main()
