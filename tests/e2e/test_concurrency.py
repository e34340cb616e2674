"""Exactly once under contention: many processes concluding at the same time."""

import os
import subprocess

from harness import BINARY, NimbusTestCase, main

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


class ConcurrencyTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
        ):
            self.run_ok(*command)

    def import_sessions(self, ids):
        rows = "".join(f"{i},Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T08:05:00Z,accepted,\n"
                       for i in ids)
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=HEADER + rows)

    def start(self, *args):
        return subprocess.Popen([BINARY, *args], env=self.sandbox.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def test_eight_processes_race_for_one_session(self):
        self.import_sessions([f"race-{round}" for round in range(20)])
        for round in range(20):
            racers = [self.start("session", "conclude", f"race-{round}", "--primary", "Sale",
                                 "--tag", f"racer {n}", "--as", "mia") for n in range(8)]
            outcomes = []
            for racer in racers:
                _, err = racer.communicate(timeout=120)
                outcomes.append((racer.returncode, err.decode()))
            codes = sorted(code for code, _ in outcomes)
            self.assertEqual(codes, [0] + [4] * 7, outcomes)
            for code, err in outcomes:
                if code == 4:
                    self.assertIn("was concluded by mia", err)
                self.assertNotIn("locked", err)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 20)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion_tag"), 20)

    def test_eight_processes_conclude_two_hundred_sessions(self):
        ids = [f"w{worker}-{n}" for worker in range(8) for n in range(25)]
        self.import_sessions(ids)
        script = 'for id in "$@"; do "$NIMBUS" session conclude "$id" --primary Sale --as mia -q || exit $?; done'
        env = dict(self.sandbox.env, NIMBUS=BINARY)
        workers = [subprocess.Popen(["bash", "-c", script, "worker", *[f"w{worker}-{n}" for n in range(25)]],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                   for worker in range(8)]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            self.assertEqual(worker.returncode, 0, err.decode())
        concluded = {s["id"] for s in self.json_ok("session", "list", "--concluded")}
        self.assertEqual(concluded, set(ids))


if __name__ == "__main__":
    main()
