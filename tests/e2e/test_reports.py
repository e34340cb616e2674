"""Reports: golden outputs on a fixed data set, scoping, atomic files, the export.

Golden files live in tests/golden/reports/. To rewrite them after a deliberate
change, run with NIMBUS_UPDATE_GOLDEN=1 and review the diff before committing.
"""

import csv
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import subprocess

from harness import BINARY, CAST, COMMAND, NimbusTestCase, ROOT, Run, SCHEMA_VERSION, Sandbox, main, time_limit

GOLDEN = os.path.join(ROOT, "tests", "golden")
UPDATE = os.environ.get("NIMBUS_UPDATE_GOLDEN") == "1"

CASES = {
    "month-code-utc.csv": ["--month", "2026-11", "--format", "csv"],
    "month-code-zurich.csv": ["--month", "2026-11", "--tz", "Europe/Zurich", "--format", "csv"],
    "months-code-zurich.json": ["--from", "2026-10-01", "--to", "2026-11-30", "--by", "month,code",
                                "--tz", "Europe/Zurich", "--format", "json"],
    "months-code-current.csv": ["--from", "2026-10-01", "--to", "2026-12-31", "--by", "month,code",
                                "--names", "current", "--format", "csv"],
    "tags.csv": ["--from", "2026-10-01", "--to", "2026-12-31", "--by", "tag", "--format", "csv"],
    "service-type.json": ["--month", "2026-11", "--by", "service,type", "--format", "json"],
    "user-code.txt": ["--month", "2026-11", "--by", "user,code", "--service", "Hotline"],
    "days-zurich.csv": ["--from", "2026-10-31", "--to", "2026-11-01", "--by", "day", "--tz",
                        "Europe/Zurich", "--format", "csv"],
    "filtered.csv": ["--from", "2026-10-01", "--to", "2026-12-31", "--by", "month,code", "--type",
                     "primary", "--code", "Closed deal", "--code", "Old offer", "--format", "csv"],
    "last-month-tag.csv": ["--month", "last", "--by", "code", "--tag", "vip", "--format", "csv"],
}


# The golden data set's users: the standard cast, and two more for Desk.
GOLDEN_USERS = dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline", "Desk"]},
                    dora={"name": "Dora Desk Owner", "owner": ["Desk"]})


def golden_sandbox(store=None):
    """A sandbox whose store (its own, or the SQLite file `store` names in it)
    holds the golden data set."""
    sandbox = Sandbox()
    sandbox.write_identity(GOLDEN_USERS)
    if store:
        sandbox.use_store(os.path.join(sandbox.dir, store))
    completed = subprocess.run(["bash", os.path.join(GOLDEN, "dataset.sh")],
                               env=sandbox.environment({"NIMBUS_CODES_BIN": BINARY}),
                               capture_output=True, timeout=time_limit(3))
    if completed.returncode != 0:
        sandbox.cleanup()
        raise RuntimeError(completed.stderr.decode())
    return sandbox


class ReportsTest(NimbusTestCase):
    @classmethod
    def setUpClass(cls):
        # One data set for every case: the reports only read it.
        cls.shared = golden_sandbox()

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        self.sandbox = self.shared
        self.sandbox.env["NIMBUS_CODES_NOW"] = "2026-12-05T09:00:00Z"

    def report(self, *args, **kwargs):
        return self.run_ok("report", "usage", *args, **kwargs)

    def test_golden_outputs(self):
        for name, args in CASES.items():
            with self.subTest(name):
                out = self.report(*args).out
                path = os.path.join(GOLDEN, "reports", name)
                if UPDATE:
                    with open(path, "w", encoding="utf-8", newline="") as f:
                        f.write(out)
                with open(path, encoding="utf-8", newline="") as f:
                    self.assertEqual(out, f.read(), name)

    def test_reruns_are_byte_identical(self):
        for args in CASES.values():
            self.assertEqual(self.report(*args).out, self.report(*args).out)

    def test_csv_reads_back_with_a_standard_parser(self):
        text = self.report("--from", "2026-10-01", "--to", "2026-12-31", "--by", "tag", "--format", "csv").out
        self.assertFalse(text.startswith("\ufeff"))
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual(list(rows[0].keys()), ["tag", "sessions", "share"])
        tags = {row["tag"]: row["sessions"] for row in rows}
        self.assertEqual(tags["'=SUM(A1:A9)"], "1")  # neutralised, not a formula
        self.assertEqual(tags["'@evil"], "1")
        self.assertEqual(tags["VIP"], "3")  # VIP, vip and " VIP " are one tag

    def test_json_matches_csv(self):
        as_json = json.loads(self.report("--month", "2026-11", "--by", "month,code", "--format", "json").out)
        as_csv = list(csv.DictReader(io.StringIO(self.report("--month", "2026-11", "--by", "month,code",
                                                             "--format", "csv").out, newline="")))
        self.assertEqual(len(as_json), len(as_csv))
        for j, c in zip(as_json, as_csv):
            self.assertEqual((j["month"], j["code"], str(j["sessions"])), (c["month"], c["code"], c["sessions"]))

    def test_summary_file(self):
        for fmt in ("csv", "json"):
            path = os.path.join(self.sandbox.dir, f"summary.{fmt}")
            self.report("--month", "2026-11", "--summary", path, "--format", fmt)
            with open(path, encoding="utf-8", newline="") as f:
                text = f.read()
            # The ledger's head when the report was made, to check later with verify --head.
            head = self.json_ok("verify")
            if fmt == "json":
                self.assertEqual(json.loads(text), {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "UTC",
                                                    "sessions": 5, "concluded": 4, "concluded_by_agents": 4,
                                                    "concluded_by_default": 0, "unconcluded": 1,
                                                    "retroactive": 3, "ledger_records": head["records"],
                                                    "ledger_head": head["head"]})
            else:
                self.assertEqual(text, "from,to,time_zone,sessions,concluded,concluded_by_agents,"
                                       "concluded_by_default,unconcluded,retroactive,ledger_records,ledger_head\r\n"
                                       f"2026-11-01,2026-11-30,UTC,5,4,4,0,1,3,{head['records']},{head['head']}\r\n")

    def test_output_file_is_atomic(self):
        path = os.path.join(self.sandbox.dir, "usage.csv")
        result = self.report("--month", "2026-11", "--format", "csv", "--output", path)
        self.assertEqual(result.out, "")
        self.assertIn(f"wrote {path}", result.err)
        with open(path, encoding="utf-8", newline="") as f:
            before = f.read()
        self.assertEqual(before, self.report("--month", "2026-11", "--format", "csv").out)
        locked = os.path.join(self.sandbox.dir, "locked")
        os.makedirs(locked)
        kept = os.path.join(locked, "usage.csv")
        with open(kept, "w") as f:
            f.write("previous report\n")
        os.chmod(locked, 0o555)
        try:
            if os.geteuid() != 0:  # root ignores folder permissions; /dev/full covers it below
                self.assert_fails(73, "report", "usage", "--output", kept, stderr="cannot write")
                with open(kept) as f:
                    self.assertEqual(f.read(), "previous report\n")
                self.assertEqual(os.listdir(locked), ["usage.csv"])
        finally:
            os.chmod(locked, 0o755)
        self.assert_fails(73, "report", "usage", "--output", os.path.join(self.sandbox.dir, "missing", "x.csv"),
                          stderr="cannot write")

    def test_a_failed_write_leaves_the_previous_file(self):
        # A file size limit makes the write fail part-way, for root too. It sits
        # above what SQLite needs to open the store (a 32 KiB index file) and
        # below the size of this report.
        path = os.path.join(self.sandbox.dir, "kept.csv")
        with open(path, "w") as f:
            f.write("previous report\n")

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

        completed = subprocess.run(
            [BINARY, "report", "usage", "--from", "2026-10-01", "--to", "2026-12-31", "--by", "day,user,code",
             "--format", "json", "--output", path], env=self.sandbox.env, capture_output=True, timeout=COMMAND,
            preexec_fn=limit)
        self.assertEqual(completed.returncode, 73, completed.stderr)
        self.assertIn(b"cannot write", completed.stderr)
        with open(path) as f:
            self.assertEqual(f.read(), "previous report\n")
        self.assertFalse([n for n in os.listdir(self.sandbox.dir) if n.startswith(".kept.csv")])

    def test_devices_are_written_in_place(self):
        self.assert_fails(73, "report", "usage", "--output", "/dev/full", stderr="/dev/full")
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/full").st_mode))
        self.assertEqual(self.run_ok("report", "usage", "--month", "2026-11", "--format", "csv",
                                     "--output", "/dev/null").out, "")

    def test_the_documented_cron_line(self):
        """docs/reports.md's cron line, run as cron runs it: sh, umask 022, a bare
        environment; nothing printed on success (cron would mail it), the files
        named after the month reported, holding that month, and readable by the
        owner's group and others.

        Run as on the 1st at 06:00, as cron does: on any other day the line's
        `date -d yesterday` names this month while --month last reports the one
        before. nimbus-codes reads the time from NIMBUS_CODES_NOW; `date` is a
        stand-in that gives the real date(1)'s answer for that time."""
        with open(os.path.join(ROOT, "docs", "reports.md"), encoding="utf-8") as f:
            line = next(l for l in f if l.startswith("0 6 1 * *"))
        clock = os.path.join(self.sandbox.dir, "cron-clock")
        os.makedirs(clock, exist_ok=True)
        with open(os.path.join(clock, "date"), "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n"
                    "# date(1) at $CRON_NOW; the cron line asks only for yesterday.\n"
                    '[ "$1" = -d ] && [ "$2" = yesterday ] || { echo "date: unexpected $*" >&2; exit 2; }\n'
                    "shift 2\n"
                    f'exec {shutil.which("date")} -d "$CRON_NOW yesterday" "$@"\n')
        os.chmod(os.path.join(clock, "date"), 0o755)
        for now, month, last_day in (("2026-12-01T06:00:00+01:00", "2026-11", "30"),  # the docs' example
                                     ("2027-01-01T06:00:00+01:00", "2026-12", "31")):  # a new year
            with self.subTest(now):
                folder = os.path.join(self.sandbox.dir, "cron", now[:10])
                os.makedirs(folder, exist_ok=True)
                command = line.split(None, 5)[5].strip().replace("\\%", "%").replace("/srv/reports", folder)
                env = {"PATH": clock + ":" + os.path.dirname(BINARY) + ":/usr/bin:/bin",
                       "HOME": self.sandbox.env["HOME"], "NIMBUS_CODES_STORE": self.sandbox.store,
                       "NIMBUS_CODES_IDENTITY": self.sandbox.identity,
                       "PGPASSFILE": self.sandbox.env.get("PGPASSFILE", "/nonexistent"),
                       "NIMBUS_CODES_NOW": now, "CRON_NOW": now}
                completed = subprocess.run(["sh", "-c", "umask 022; " + command], env=env, cwd="/",
                                           capture_output=True, timeout=COMMAND)
                self.assertEqual((completed.returncode, completed.stdout, completed.stderr), (0, b"", b""))
                names = sorted(os.listdir(folder))
                for name in names:
                    self.assertEqual(stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode), 0o644, name)
                summaries = [n for n in names if n.endswith("-summary.csv")]
                self.assertEqual(len(summaries), 1, names)
                named = summaries[0][len("hotline-"):-len("-summary.csv")]
                self.assertEqual(names, [f"hotline-{named}-summary.csv", f"hotline-{named}.csv"])
                # The period the summary gives is the month the files are named after ...
                with open(os.path.join(folder, summaries[0]), encoding="utf-8", newline="") as f:
                    summary = next(csv.DictReader(f))
                self.assertEqual((summary["from"][:7], summary["to"][:7]), (named, named), summary)
                # ... the whole of it, the month before the 1st it ran on ...
                self.assertEqual((named, summary["from"], summary["to"], summary["time_zone"]),
                                 (month, f"{month}-01", f"{month}-{last_day}", "Europe/Zurich"))
                # ... and so are the report's rows.
                with open(os.path.join(folder, f"hotline-{named}.csv"), encoding="utf-8", newline="") as f:
                    self.assertEqual(f.read(), self.report("--service", "Hotline", "--month", month, "--by", "code",
                                                           "--tz", "Europe/Zurich", "--format", "csv").out)

    def test_period_and_dimension_errors(self):
        self.assert_fails(64, "report", "usage", "--month", "2026-13")
        self.assert_fails(64, "report", "usage", "--month", "November")
        self.assert_fails(64, "report", "usage", "--from", "2026-11-01")
        self.assert_fails(64, "report", "usage", "--from", "2026-11-02", "--to", "2026-11-01", stderr="before")
        self.assert_fails(64, "report", "usage", "--by", "month,colour", stderr='unknown dimension "colour"')
        self.assert_fails(64, "report", "usage", "--by", "month,day")
        self.assert_fails(64, "report", "usage", "--tz", "Mars/Olympus", stderr='unknown time zone "Mars/Olympus"')
        self.assert_fails(3, "report", "usage", "--code", "Nothing")
        self.assert_fails(3, "report", "usage", "--service", "Nowhere")
        # Periods lie within the times calls can have, 2000-01-01 to 2099-12-31.
        outside = "is outside the times calls can have: reports cover 2000-01-01 to 2099-12-31"
        self.assert_fails(64, "report", "usage", "--month", "1999-12", stderr="--month 1999-12 (1999-12) " + outside)
        self.assert_fails(64, "report", "usage", "--month", "2100-01", stderr=outside)
        self.assert_fails(64, "report", "usage", "--from", "0000-01-01", "--to", "9999-12-31", "--by", "day,code",
                          stderr="--from 0000-01-01 " + outside)
        self.assert_fails(64, "report", "usage", "--from", "2099-12-31", "--to", "2100-01-01",
                          stderr="--to 2100-01-01 " + outside)
        self.assert_fails(64, "report", "usage", "--month", "last", env={"NIMBUS_CODES_NOW": "2000-01-15T12:00:00Z"},
                          stderr="--month last (1999-12) " + outside)
        self.assertEqual(self.json_ok("report", "usage", "--from", "2000-01-01", "--to", "2000-01-01", "--by", "day")[0],
                         {"day": "2000-01-01", "sessions": 0, "share": None})
        self.assertEqual(len(self.json_ok("report", "usage", "--from", "2099-12-01", "--to", "2099-12-31", "--by", "day")),
                         31)
        model = os.path.join(self.sandbox.dir, "refused-model")
        self.assert_fails(64, "report", "export", "--dir", model, "--from", "1999-12-31", "--to", "2000-01-31",
                          stderr="--from 1999-12-31 " + outside)
        self.assertFalse(os.path.exists(model))

    def test_scope(self):
        # Owners and supervisors read their services; OU admins their subtree.
        rows = json.loads(self.report("--month", "2026-11", "--by", "service", "--format", "json",
                                      "--as", "dora").out)
        self.assertEqual([r["service"] for r in rows], ["Desk"])
        self.assert_fails(77, "report", "usage", "--service", "Hotline", "--as", "dora",
                          stderr='may not read reports of service "Hotline"')
        self.assertEqual([r["service"] for r in json.loads(self.report(
            "--month", "2026-11", "--by", "service", "--format", "json", "--as", "sue").out)], ["Hotline"])
        self.assertEqual([r["service"] for r in json.loads(self.report(
            "--month", "2026-11", "--by", "service", "--format", "json", "--as", "sam").out)], ["Hotline"])
        self.assert_fails(77, "report", "usage", "--ou", "Contoso", "--as", "sam")
        self.assertEqual([r["service"] for r in json.loads(self.report(
            "--month", "2026-11", "--by", "service", "--format", "json", "--ou", "Contoso/Support").out)], ["Desk"])
        self.assert_fails(77, "report", "usage", "--as", "mia", stderr="may not read reports")
        self.assert_fails(77, "report", "export", "--dir", os.path.join(self.sandbox.dir, "x"), "--as", "mia")

    def test_export_matches_its_manifest(self):
        out = os.path.join(self.sandbox.dir, "model")
        result = self.run_ok("report", "export", "--dir", out, "--tz", "Europe/Zurich", "--format", "json")
        listed = {f["file"]: f["rows"] for f in result.json()}
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["schema_version"], SCHEMA_VERSION)
        self.assertEqual(manifest["filters"]["time_zone"], "Europe/Zurich")
        self.assertEqual(sorted(os.listdir(out)), sorted([f["name"] for f in manifest["files"]] + ["manifest.json"]))
        for entry in manifest["files"]:
            path = os.path.join(out, entry["name"])
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(hashlib.sha256(data).hexdigest(), entry["sha256"])
            rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
            self.assertEqual(len(rows) - 1, entry["rows"], entry["name"])
            self.assertEqual(listed[entry["name"]], entry["rows"])
        counts = {e["name"]: e["rows"] for e in manifest["files"]}
        self.assertEqual(counts["sessions.csv"], 8)
        self.assertEqual(counts["session_codes.csv"], 12)
        self.assertEqual(counts["codes.csv"], 6)  # the deleted code too
        with open(os.path.join(out, "sessions.csv"), newline="") as f:
            facts = {r["session_id"]: r for r in csv.DictReader(f)}
        self.assertEqual(facts["h-2"]["date_key"], "2026-11-01")  # 23:30 UTC is November in Zurich
        self.assertEqual(facts["h-6"]["concluded"], "false")
        with open(os.path.join(out, "session_codes.csv"), newline="") as f:
            names = {(r["session_key"], r["name_at_time"]) for r in csv.DictReader(f)}
        self.assertIn(("1", "Sale"), names)  # the name when concluded, not "Closed deal"
        # A second export replaces the folder whole; a scoped one holds only that service.
        self.run_ok("report", "export", "--dir", out, "--service", "Desk", "--from", "2026-11-01", "--to", "2026-11-30")
        with open(os.path.join(out, "manifest.json")) as f:
            scoped = json.load(f)
        self.assertEqual({e["name"]: e["rows"] for e in scoped["files"]}["sessions.csv"], 1)
        self.assertEqual({e["name"]: e["rows"] for e in scoped["files"]}["dates.csv"], 30)
        self.assertFalse([n for n in os.listdir(self.sandbox.dir) if n.startswith(".model")])

    def test_export_tag_totals_equal_the_report(self):
        # The star counted by tag_key, as pandas' groupby('tag_key') or a Power BI
        # relation to tags.csv would, gives what report usage --by tag gives.
        out = os.path.join(self.sandbox.dir, "tag-model")
        period = ["--from", "2026-10-01", "--to", "2026-12-31"]
        self.run_ok("report", "export", "--dir", out, *period)
        facts = [{k: unguard(v) for k, v in row.items()} for row in read_csv(os.path.join(out, "session_tags.csv"))]
        tags = [{k: unguard(v) for k, v in row.items()} for row in read_csv(os.path.join(out, "tags.csv"))]
        self.assertEqual(list(facts[0].keys()), ["session_key", "position", "tag", "tag_key"])
        self.assertEqual(list(tags[0].keys()), ["tag_key", "tag"])
        # The spellings differ, the key does not: grouping by the spelling would split VIP in three.
        self.assertEqual(sorted(f["tag"] for f in facts if f["tag_key"] == "vip"), ["VIP", "VIP", "vip"])
        display = {t["tag_key"]: t["tag"] for t in tags}
        self.assertEqual(len(display), len(tags))  # one row per key
        totals = {}
        for fact in facts:
            totals[display[fact["tag_key"]]] = totals.get(display[fact["tag_key"]], 0) + 1
        report = self.json_ok("report", "usage", "--by", "tag", *period)
        self.assertEqual(totals, {row["tag"]: row["sessions"] for row in report})
        self.assertEqual(totals["VIP"], 3)
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["model_version"], 4)
        self.assertEqual({e["name"]: e["rows"] for e in manifest["files"]}["tags.csv"], len(tags))


HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def unguard(cell):
    """A CSV cell without the apostrophe that keeps spreadsheets from running it."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


class ReportRulesTest(NimbusTestCase):
    """Rules of report usage and report export, each on a small store of its own."""

    def import_rows(self, *rows):
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin=HEADER + "".join(row + "\n" for row in rows))

    def summary(self, *args):
        path = os.path.join(self.sandbox.dir, "summary.json")
        self.run_ok("report", "usage", "--month", "2026-11", "--summary", path, "--format", "json", *args)
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def test_retroactive_follows_an_end_imported_after_the_conclusion(self):
        self.init_hotline()
        # Two active calls, both concluded at 09:30 (the fixed clock) while active.
        self.import_rows("a-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,",
                         "a-2,Hotline,mia,inbound,2026-11-26T09:00:00Z,,,")
        for session in ("a-1", "a-2"):
            concluded = self.json_ok("session", "conclude", session, "--primary", "Sale", "--as", "mia")
            self.assertFalse(concluded["retroactive"])
        self.assertEqual(self.summary()["retroactive"], 0)
        # Their ends arrive later: a-1 ended at 08:10, before its conclusion;
        # a-2 at 09:45, after it.
        self.import_rows("a-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T08:10:00Z,accepted,",
                         "a-2,Hotline,mia,inbound,2026-11-26T09:00:00Z,2026-11-26T09:45:00Z,accepted,")
        self.assertTrue(self.json_ok("session", "show", "a-1")["retroactive"])
        self.assertFalse(self.json_ok("session", "show", "a-2")["retroactive"])
        summary = self.summary()
        self.assertEqual((summary["concluded"], summary["retroactive"]), (2, 1))
        footer = self.run_ok("report", "usage", "--month", "2026-11").out
        self.assertIn("2 concluded (1 retroactively)", footer)
        out = os.path.join(self.sandbox.dir, "model")
        self.run_ok("report", "export", "--dir", out)
        facts = {row["session_id"]: row["retroactive"] for row in read_csv(os.path.join(out, "sessions.csv"))}
        self.assertEqual(facts, {"a-1": "true", "a-2": "false"})

    def test_a_user_filter_must_name_someone(self):
        self.init_hotline()
        self.import_calls(["c-1"])  # mia's
        # zed took a call, and has left since: no longer in the identity file.
        self.sandbox.write_identity(dict(CAST, zed={"name": "Zed", "member": ["Hotline"]}))
        self.import_rows("c-2,Hotline,zed,inbound,2026-11-26T08:00:00Z,2026-11-26T08:05:00Z,accepted,")
        self.sandbox.write_identity(CAST)
        self.run_ok("session", "conclude", "c-1", "--primary", "Sale", "--as", "mia")
        before = self.audit_actions()
        self.assert_fails(3, "report", "usage", "--month", "2026-11", "--user", "miaa",
                          stderr='there is no user "miaa": no session of the services reported on is theirs')
        self.assert_fails(3, "report", "usage", "--month", "2026-11", "--user", "miaa", "--format", "csv",
                          "--output", os.path.join(self.sandbox.dir, "miaa.csv"))
        self.assertFalse(os.path.exists(os.path.join(self.sandbox.dir, "miaa.csv")))
        self.assertEqual(self.audit_actions(), before)
        rows = self.json_ok("report", "usage", "--month", "2026-11", "--user", "mia")
        self.assertEqual([(r["code"], r["sessions"]) for r in rows], [("Sale", 1)])
        # Someone with sessions but no entry in the identity file, and someone
        # listed there without sessions, are real people: their reports are zeros.
        self.assertEqual([r["sessions"] for r in self.json_ok("report", "usage", "--month", "2026-11",
                                                              "--user", "zed")], [0])
        self.assertEqual([r["sessions"] for r in self.json_ok("report", "usage", "--month", "2026-11",
                                                              "--user", "sue")], [0])
        # Whether a login has sessions of services outside the caller's reach
        # is not the caller's to learn: to Hotline's supervisor, yan is no one.
        self.run_ok("service", "create", "Desk", "--ou", "Contoso/Sales", "--license", "contact-center")
        self.sandbox.write_identity(dict(CAST, yan={"name": "Yan", "member": ["Desk"]}))
        self.import_rows("c-3,Desk,yan,inbound,2026-11-26T08:00:00Z,2026-11-26T08:05:00Z,accepted,")
        self.sandbox.write_identity(CAST)
        self.assert_fails(3, "report", "usage", "--month", "2026-11", "--user", "yan", "--as", "sue",
                          stderr='there is no user "yan"')
        self.run_ok("report", "usage", "--month", "2026-11", "--user", "yan")

    def test_code_names_prefer_current_codes(self):
        self.init_hotline()  # the primary code Sale, id:1
        self.import_calls(["c-1", "c-2", "c-3"])
        # An old secondary code also named Sale, used once and deleted since.
        self.run_ok("code", "create", "--type", "secondary", "--name", "Sale")
        self.run_ok("service", "apply", "Hotline", "--secondary", "id:2")
        self.run_ok("session", "conclude", "c-1", "--secondary", "id:2", "--as", "mia")
        self.run_ok("code", "delete", "id:2")
        self.run_ok("session", "conclude", "c-2", "--primary", "Sale", "--as", "mia")
        self.run_ok("session", "conclude", "c-3", "--primary", "Sale", "--as", "mia")

        def used(*args):
            rows = self.json_ok("report", "usage", "--month", "2026-11", *args)
            return [(r["type"], r["code"], r["code_id"], r["sessions"]) for r in rows]

        # The current primary Sale, not the deleted secondary one as well.
        self.assertEqual(used("--code", "sale"), [("primary", "Sale", 1, 2)])
        # After a rename no current code is called Sale: the deleted secondary
        # Sale and the code concluded as Sale are both candidates, at one level.
        self.run_ok("code", "edit", "Sale", "--name", "Verkauf")
        result = self.assert_fails(64, "report", "usage", "--month", "2026-11", "--code", "Sale",
                                   stderr='--code "Sale" is ambiguous: ')
        self.assertIn('primary "Verkauf" (id:1, Contoso, concluded as "Sale")', result.err)
        self.assertIn('secondary "Sale" (id:2, Contoso, deleted)', result.err)
        self.assertIn("hint: name one code as --code id:N (e.g. --code id:1), or narrow with --type", result.err)
        self.assertEqual(used("--code", "Sale", "--type", "primary"), [("primary", "Sale", 1, 2)])
        self.assertEqual(used("--code", "Sale", "--type", "secondary"), [("secondary", "Sale", 2, 1)])
        self.assertEqual(used("--code", "Verkauf", "--names", "current"), [("primary", "Verkauf", 1, 2)])
        self.assertEqual(used("--code", "id:2"), [("secondary", "Sale", 2, 1)])
        self.assertEqual(used("--code", "ID:2"), used("--code", "id:2"))  # the prefix in any case
        # Two current codes of one name: the type tells them apart.
        self.run_ok("code", "create", "--type", "secondary", "--name", "Verkauf")
        self.assert_fails(64, "report", "usage", "--month", "2026-11", "--code", "Verkauf",
                          stderr='primary "Verkauf" (id:1, Contoso); secondary "Verkauf" (id:3, Contoso)')
        self.assertEqual(used("--code", "Verkauf", "--type", "primary"), [("primary", "Sale", 1, 2)])
        self.assert_fails(3, "report", "usage", "--code", "Nothing", stderr='there is no code named "Nothing"')

    def test_a_code_out_of_the_services_reach_names_nothing(self):
        self.init_hotline()  # Hotline in Contoso/Sales
        self.run_ok("ou", "create", "Contoso/Support")
        self.run_ok("service", "create", "Desk", "--ou", "Contoso/Support", "--license", "contact-center")
        self.run_ok("code", "create", "--type", "primary", "--name", "Refund", "--ou", "Contoso/Support")
        self.assert_fails(3, "report", "usage", "--service", "Hotline", "--code", "Refund",
                          stderr='no code named "Refund" can be on the lists of the services reported on: '
                                 'there is only primary "Refund" (id:2, Contoso/Support)')
        # Two sibling OUs' codes of one name: only the one the services can list counts.
        self.run_ok("code", "create", "--type", "primary", "--name", "Refund", "--ou", "Contoso/Sales")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,Refund")
        rows = self.json_ok("report", "usage", "--month", "2026-11", "--service", "Hotline", "--code", "Refund")
        self.assertEqual([(r["code"], r["code_id"]) for r in rows], [("Refund", 3)])
        result = self.assert_fails(64, "report", "usage", "--month", "2026-11", "--code", "Refund",
                                   stderr='primary "Refund" (id:2, Contoso/Support); '
                                          'primary "Refund" (id:3, Contoso/Sales)')
        self.assertNotIn("--type", result.err)  # both are primary: only the id tells them apart

    def test_a_renamed_code_has_one_row_per_group(self):
        self.init_hotline()
        self.import_calls(["c-1", "c-2"])
        self.run_ok("session", "conclude", "c-1", "--primary", "Sale", "--as", "mia")
        self.run_ok("code", "edit", "Sale", "--name", "Closed deal")

        def rows(*args):
            return [(r.get("month"), r["code"], r["code_id"], r["sessions"])
                    for r in self.json_ok("report", "usage", *args)]

        # Used in November as Sale, unused in October: one row each, never a
        # zero row under today's name beside the row of the old one.
        self.assertEqual(rows("--from", "2026-10-01", "--to", "2026-11-30", "--by", "month,code"),
                         [("2026-10", "Closed deal", 1, 0), ("2026-11", "Sale", 1, 1)])
        self.assertEqual(rows("--month", "2026-11", "--names", "current"), [(None, "Closed deal", 1, 1)])
        # Used under both names in one month: a row per name, each with its sessions.
        self.run_ok("session", "conclude", "c-2", "--primary", "Closed deal", "--as", "mia")
        self.assertEqual(rows("--month", "2026-11"), [(None, "Closed deal", 1, 1), (None, "Sale", 1, 1)])
        self.assertEqual(rows("--month", "2026-11", "--names", "current"), [(None, "Closed deal", 1, 2)])

    def test_an_odd_stored_time_does_not_stretch_the_export_calendar(self):
        self.init_hotline()
        self.import_calls(["c-1"])
        # An odd time in the store (1900-01-01), written by hand: however it got
        # there, the calendar keeps to the days that have sessions.
        self.sandbox.rows('INSERT INTO session (external_id, service_id, "user", direction, started_at, caller) '
                          "VALUES ('odd-1', 1, 'mia', 'inbound', -2208988800, '')")
        out = os.path.join(self.sandbox.dir, "model")
        self.run_ok("report", "export", "--dir", out)
        dates = [row["date_key"] for row in read_csv(os.path.join(out, "dates.csv"))]
        self.assertEqual(dates, ["1900-01-01", "2026-11-26"])
        facts = {row["session_id"]: row["date_key"] for row in read_csv(os.path.join(out, "sessions.csv"))}
        self.assertEqual(facts, {"c-1": "2026-11-26", "odd-1": "1900-01-01"})


def sanitized_build():
    """True when the binary under test was built with sanitizers (whose shadow
    memory no address-space limit can hold); tests/CMakeLists.txt says so."""
    return os.environ.get("NIMBUS_TEST_SANITIZED", "0") == "1"


MEMORY_LIMIT = 64 * 1024 * 1024  # what a report may use, whatever it is asked
CODES = 100


class ReportSizeTest(NimbusTestCase):
    """A report runs within 64 MiB of address space, or is refused up front."""

    @classmethod
    def setUpClass(cls):
        # One store, read only: Hotline with 100 primary codes on its list.
        cls.shared = Sandbox()
        cls.shared.write_identity(CAST)
        names = [f"Code {i:03}" for i in range(1, CODES + 1)]
        config = 'tenant = "Contoso"\nous = ["Contoso/Sales"]\n' + "".join(
            f'[[codes]]\ntype = "primary"\nname = "{name}"\n' for name in names)
        config += ('[[services]]\nname = "Hotline"\nou = "Contoso/Sales"\nlicense = "contact-center"\n'
                   f"primary = [{', '.join(json.dumps(n) for n in names)}]\n"
                   "extensions = { codes-and-tags = true }\n")
        path = os.path.join(cls.shared.dir, "setup.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config)
        for args in (("init", "--tenant", "Contoso"), ("config", "apply", path)):
            result = cls.shared.run(*args)
            if result.code != 0:
                cls.shared.cleanup()
                raise RuntimeError(repr(result))

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def setUp(self):
        if sanitized_build():
            self.skipTest("a sanitized binary reserves terabytes of address space: RLIMIT_AS cannot hold it")
        self.sandbox = self.shared

    def limited(self, *args):
        """report usage ARGS with its address space limited to MEMORY_LIMIT."""
        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

        args = ("report", "usage", *args)
        completed = subprocess.run([BINARY, *args], env=self.sandbox.env, capture_output=True, timeout=time_limit(5),
                                   preexec_fn=limit)
        return Run(args, completed)

    def refused(self, *args, stderr):
        result = self.limited(*args)
        self.assertEqual(result.code, 64, repr(result))
        self.assertEqual(result.out, "", repr(result))
        self.assertIn(stderr, result.err, repr(result))
        self.assertIn("nimbus-codes: hint: narrow the period", result.err)
        self.assertIn("'nimbus-codes report export'", result.err)

    def test_the_largest_report_fits(self):
        # 1,000 days of 100 codes: 100,000 rows, the most a report may have.
        for fmt in ("json", "table"):
            result = self.limited("--from", "2024-01-01", "--to", "2026-09-26", "--by", "day,code", "--format", fmt)
            self.assertEqual(result.code, 0, repr(result)[:2000])
            if fmt == "json":
                rows = result.json()
                self.assertEqual(len(rows), 100_000)
                self.assertEqual((rows[0]["day"], rows[0]["code"]), ("2024-01-01", "Code 001"))
                self.assertEqual((rows[-1]["day"], rows[-1]["code"]), ("2026-09-26", "Code 100"))
            else:
                self.assertEqual(result.out.count("\n"), 100_000 + 3)  # header, footer's blank line and line

    def test_larger_reports_are_refused_up_front(self):
        self.refused("--from", "2024-01-01", "--to", "2026-09-27", "--by", "day,code",
                     stderr="the report would have 100100 rows (1001 days times 100 rows each); "
                            "the limit is 100000 rows")
        # What a supervisor once asked for: a century by day, then the years 0 to 9999.
        self.refused("--from", "2000-01-01", "--to", "2099-12-31", "--by", "day,code",
                     stderr="3652500 rows (36525 days times 100 rows each)")
        result = self.limited("--from", "0000-01-01", "--to", "9999-12-31", "--by", "day,code")
        self.assertEqual(result.code, 64, repr(result))
        self.assertIn("--from 0000-01-01 is outside the times calls can have", result.err)
        # The same century by month for one code is a short report.
        result = self.limited("--from", "2000-01-01", "--to", "2099-12-31", "--by", "month,code",
                              "--code", "Code 042", "--format", "csv")
        self.assertEqual(result.code, 0, repr(result)[:2000])
        self.assertEqual(result.out.count("\r\n"), 1 + 1200)


if __name__ == "__main__":
    main()
