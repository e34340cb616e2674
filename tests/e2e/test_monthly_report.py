"""The monthly report (monthly-report, which nimbus-codes-monthly-report@USER.timer
runs on the 1st, or cron): last month's report of each service the user may read,
run as cron runs it (a bare environment, umask 022) by an unprivileged account;
the month cut in the configured zone; its settings and refusals, which write
nothing; and its retries while the store is busy. The systemd units themselves
are checked in the installed package (tests/package/test_package.sh)."""

import os
import sqlite3
import stat
import subprocess
import threading

from harness import (BINARY, STRANGER_UID, NimbusTestCase, main, needs_root, ordinary_account, sqlite_only,
                     time_limit)

SCRIPT = os.path.join(os.environ.get("NIMBUS_BUILD_DIR", "build"), "packaging", "monthly-report")
DECEMBER_FIRST = "2026-12-01T06:00:00Z"


class MonthlyReportTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.account = ordinary_account()
        self.sandbox.become(self.account)
        users = {self.account.pw_name: {"name": "Reports", "tenant_admin": True},
                 "mia": {"name": "Mia Member", "member": ["Hotline"]}}
        self.sandbox.write_identity(users)
        self.init_hotline()
        self.run_ok("service", "create", "Care/Desk", "--ou", "Contoso/Sales", "--license", "contact-center")
        self.run_ok("service", "apply", "Care/Desk", "--primary", "Sale")
        self.import_calls(["s-1", "s-2"])
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale", "--as", "mia")
        self.folder = self.make_folder("reports")
        self.config = self.write_config(f"NIMBUS_REPORT_FOLDER={self.folder}\nNIMBUS_REPORT_TZ=Europe/Zurich\n")

    def make_folder(self, name):
        path = os.path.join(self.sandbox.dir, name)
        os.makedirs(path)
        self.sandbox.give(path)
        return path

    def write_config(self, text, name="monthly-report.conf"):
        path = os.path.join(self.sandbox.dir, name)
        with open(path, "w") as f:
            f.write("# settings\n\n" + text)
        return path

    def run_script(self, *args, now=DECEMBER_FIRST, env=None, timeout=time_limit(0.3)):
        """The script as cron runs it: a bare environment and umask 022, as the
        sandbox's account; the store, identity and clock of the sandbox."""
        environment = {"PATH": "/usr/bin:/bin", "HOME": self.sandbox.env["HOME"], "SHELL": "/bin/sh",
                       "LOGNAME": self.account.pw_name, "NIMBUS_CODES_BIN": BINARY,
                       "NIMBUS_CODES_NOW": now}
        for name in ("NIMBUS_CODES_STORE", "NIMBUS_CODES_IDENTITY", "PGPASSFILE"):
            if name in self.sandbox.env:
                environment[name] = self.sandbox.env[name]
        environment.update(env or {})
        command = ["bash", SCRIPT, "--config", self.config, *args]
        if self.account.pw_uid != os.geteuid():
            command = ["setpriv", f"--reuid={self.account.pw_uid}", f"--regid={self.account.pw_gid}",
                       "--clear-groups", *command]
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=lambda: os.umask(0o022))

    def report_of(self, service, month):
        return self.run_ok("report", "usage", "--service", service, "--month", month, "--tz", "Europe/Zurich",
                           "--format", "csv").out

    def read(self, path):
        with open(path, newline="") as f:
            return f.read()

    def assert_refused(self, result, code, stderr):
        self.assertEqual(result.returncode, code, result)
        self.assertIn(stderr, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertEqual(os.listdir(self.folder), [])

    def test_writes_last_months_report_of_each_service_for_its_group_only(self):
        result = self.run_script()
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.stderr, "")
        self.assertEqual(result.stdout.splitlines(), ["service,file,rows", "Care/Desk,Care_Desk.csv,1",
                                                      "Hotline,Hotline.csv,1"])
        month = os.path.join(self.folder, "2026-11")
        self.assertEqual(sorted(os.listdir(month)), ["Care_Desk.csv", "Hotline.csv", "manifest.json"])
        self.assertEqual(self.read(os.path.join(month, "Hotline.csv")), self.report_of("Hotline", "2026-11"))
        self.assertEqual(self.read(os.path.join(month, "Care_Desk.csv")), self.report_of("Care/Desk", "2026-11"))
        self.assertIn("primary,Sale,1,1,1.0000", self.read(os.path.join(month, "Hotline.csv")))
        # umask 022 from cron, yet the reports are the folder's group's, not everyone's.
        self.assertEqual(stat.S_IMODE(os.stat(month).st_mode), 0o750)
        for name in os.listdir(month):
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(month, name)).st_mode), 0o640, name)
            self.assertEqual(os.stat(os.path.join(month, name)).st_uid, self.account.pw_uid)

    @needs_root("a folder of a group the account is not in")
    def test_in_a_set_group_id_folder_the_reports_take_its_group(self):
        # The documented set-up: the folder's group is the one that reads the reports.
        readers = STRANGER_UID
        os.chown(self.folder, self.account.pw_uid, readers)
        os.chmod(self.folder, 0o2750)
        result = self.run_script()
        self.assertEqual(result.returncode, 0, result)
        month = os.path.join(self.folder, "2026-11")
        # Its own set-group-ID bit goes with the chmod of someone outside the group; what is in it stays theirs.
        self.assertEqual((os.stat(month).st_gid, stat.S_IMODE(os.stat(month).st_mode) & 0o777), (readers, 0o750))
        for name in os.listdir(month):
            info = os.stat(os.path.join(month, name))
            self.assertEqual((info.st_gid, stat.S_IMODE(info.st_mode)), (readers, 0o640), name)

    def test_the_month_is_last_month_in_the_configured_zone(self):
        # 30 November 12:00 UTC is already 1 December in Auckland, not yet in Zurich.
        cases = (("Pacific/Auckland", "2026-11-30T12:00:00Z", "2026-11"),
                 ("Europe/Zurich", "2026-11-30T12:00:00Z", "2026-10"),
                 ("Europe/Zurich", "2027-01-01T06:00:00Z", "2026-12"))
        for zone, now, month in cases:
            result = self.run_script(now=now, env={"NIMBUS_REPORT_TZ": zone})
            self.assertEqual(result.returncode, 0, result)
            manifest = self.read(os.path.join(self.folder, month, "manifest.json"))
            self.assertIn(f'"time_zone": "{zone}"', manifest)
            self.assertIn(f'"first_day": "{month}-01"', manifest)
        self.assertEqual(sorted(os.listdir(self.folder)), ["2026-10", "2026-11", "2026-12"])
        # An admin may write a month again.
        result = self.run_script("--month", "2026-11")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn('"time_zone": "Europe/Zurich"', self.read(os.path.join(self.folder, "2026-11", "manifest.json")))

    def test_the_environment_wins_over_the_file(self):
        other = self.make_folder("elsewhere")
        result = self.run_script(env={"NIMBUS_REPORT_FOLDER": other, "NIMBUS_REPORT_BY": "code,tag"})
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(os.listdir(self.folder), [])
        self.assertTrue(self.read(os.path.join(other, "2026-11", "Hotline.csv")).startswith("type,code,code_id,tag,"))

    def test_wrong_settings_are_refused_and_write_nothing(self):
        folder_line = f"NIMBUS_REPORT_FOLDER={self.folder}\n"
        cases = (
            ("NIMBUS_REPORT_TZ=Europe/Zurich\n", 78, "NIMBUS_REPORT_FOLDER must be an absolute path (it is '')"),
            ("NIMBUS_REPORT_FOLDER=reports\nNIMBUS_REPORT_TZ=UTC\n", 78, "must be an absolute path (it is 'reports')"),
            (folder_line, 78, "NIMBUS_REPORT_TZ is not set"),
            (folder_line + "NIMBUS_REPORT_TZ=UTC\nNIMBUS_REPORT_FOLDR=/tmp\n", 78,
             "monthly-report.conf:5: unknown setting NIMBUS_REPORT_FOLDR"),
            (folder_line + 'NIMBUS_REPORT_TZ="UTC"\n', 78, "NIMBUS_REPORT_TZ is quoted"),
            (folder_line + "NIMBUS_REPORT_TZ=UTC\nrm -rf /\n", 78, ":5: not a KEY=VALUE line"),
            (folder_line + "NIMBUS_REPORT_TZ=UTC\nNIMBUS_REPORT_RETRIES=many\n", 78, "must be whole numbers"),
            (folder_line + "NIMBUS_REPORT_TZ=Mars/Olympus\n", 78, "unknown time zone 'Mars/Olympus'"),
            (folder_line + "NIMBUS_REPORT_TZ=../../../etc/passwd\n", 78, "unknown time zone"),
            (folder_line + "NIMBUS_REPORT_TZ=UTC   # the zone\n", 78, "NIMBUS_REPORT_TZ has a comment after it"),
            (folder_line + "NIMBUS_REPORT_TZ=UTC\r\n", 78, "NIMBUS_REPORT_TZ ends in white space"),
            (folder_line + "NIMBUS_REPORT_TZ=UTC\nNIMBUS_REPORT_TZ=Europe/Zurich\n", 78,
             ":5: NIMBUS_REPORT_TZ is set again (first on line 4)"),
            # What nimbus-codes refuses, it refuses with its own status and words.
            (folder_line + "NIMBUS_REPORT_TZ=UTC\nNIMBUS_REPORT_BY=colour\n", 64, "nimbus-codes: error:"),
        )
        for text, code, stderr in cases:
            self.config = self.write_config(text)
            self.assert_refused(self.run_script(), code, stderr)
        self.config = os.path.join(self.sandbox.dir, "missing.conf")
        self.assert_refused(self.run_script(), 78, "cannot read the settings file")
        self.config = self.write_config(folder_line + "NIMBUS_REPORT_TZ=UTC\n")
        self.assert_refused(self.run_script("--month", "2026-13"), 64, "--month '2026-13' is not YYYY-MM")
        self.assert_refused(self.run_script("--now"), 64, "unknown argument '--now'")

    def test_a_user_without_the_right_gets_nothing(self):
        self.sandbox.write_identity({self.account.pw_name: {"name": "Agent", "member": ["Hotline"]}})
        self.assert_refused(self.run_script(), 77, "nimbus-codes: error:")

    @needs_root("root itself")
    def test_root_is_refused(self):
        result = subprocess.run(["bash", SCRIPT, "--config", self.config], capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", "NIMBUS_CODES_BIN": BINARY}, timeout=time_limit(0.1))
        self.assert_refused(result, 77, "monthly-report does not run as root")

    @sqlite_only("a lock on SQLite's file; PostgreSQL readers are never blocked")
    def test_a_busy_store_exits_75_and_with_retry_is_tried_again(self):
        holder = sqlite3.connect(self.sandbox.store, isolation_level=None, check_same_thread=False)
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        busy = {"NIMBUS_CODES_BUSY_TIMEOUT": "200", "NIMBUS_REPORT_RETRY_WAIT": "01", "NIMBUS_REPORT_RETRIES": "03"}
        try:
            result = self.run_script(env=busy)
            self.assert_refused(result, 75, "stayed locked by another process")
            self.assertNotIn("trying again", result.stderr)
            result = self.run_script("--retry", env=busy)
            self.assert_refused(result, 75, "trying again in 1 s (3 of 3)")
            self.assertEqual(result.stderr.count("stayed locked by another process"), 4)
            # Released while the script waits: the next try writes the reports.
            releaser = threading.Timer(0.5, lambda: (holder.execute("ROLLBACK"), holder.close()))
            releaser.start()
            result = self.run_script("--retry", env=busy)
            releaser.join()
        finally:
            try:
                holder.execute("ROLLBACK")
                holder.close()
            except sqlite3.ProgrammingError:
                pass  # closed by the timer
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("trying again in 1 s (1 of 3)", result.stderr)
        self.assertEqual(sorted(os.listdir(os.path.join(self.folder, "2026-11"))),
                         ["Care_Desk.csv", "Hotline.csv", "manifest.json"])


if __name__ == "__main__":
    main()
