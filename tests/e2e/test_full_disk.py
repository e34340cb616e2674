"""A full disk is said to be full, on every write path: the store (a SQLite
file, or a PostgreSQL server's tablespace), report files and export folders.
Nothing is half written and nothing changes.

The disk is a small tmpfs mounted for the test, which needs root; elsewhere
the tests say so and are skipped."""

import os
import pwd
import subprocess
import tempfile
import uuid

from harness import (CAST, COMMAND, ENGINE, NimbusTestCase, POSTGRESQL, is_root, main, ordinary_account,
                     sqlite_only)


class FullDiskCases:
    """The cases; the classes below say whom the commands run as."""

    def setUp(self):
        super().setUp()
        if not is_root():
            self.skipTest("mounting a small disk needs root")
        account = self.choose_account()
        self.sandbox.become(account)
        users = dict(CAST)
        users[account.pw_name] = {"name": "Runner", "tenant_admin": True}
        self.sandbox.write_identity(users)
        # Beside the sandbox, not in it: the PostgreSQL server's account must reach it.
        self.disk = tempfile.mkdtemp(prefix="nimbus-small-disk-")
        os.chmod(self.disk, 0o755)
        self.addCleanup(os.rmdir, self.disk)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", self.disk],
                                 capture_output=True, text=True, timeout=COMMAND)
        if mounted.returncode != 0:
            self.skipTest(f"cannot mount a small disk here: {mounted.stderr.strip()}")
        self.addCleanup(subprocess.run, ["umount", "--lazy", self.disk], capture_output=True, timeout=COMMAND)
        os.chown(self.disk, account.pw_uid, account.pw_gid)
        self.filler = os.path.join(self.disk, "filler")

    def fill(self):
        """Takes every free block of the small disk."""
        self.addCleanup(self.free)
        try:
            with open(self.filler, "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        except OSError:
            pass  # full

    def free(self):
        if os.path.exists(self.filler):
            os.remove(self.filler)

    def on_small_disk(self):
        """A store whose data lives on the small disk."""
        if ENGINE == "sqlite":
            self.sandbox.use_store(os.path.join(self.disk, "store.db"))
            return
        # A tablespace on the small disk, owned by the server's account.
        postgres = pwd.getpwnam("postgres")
        space = os.path.join(self.disk, "tablespace")
        os.makedirs(space)
        os.chown(space, postgres.pw_uid, postgres.pw_gid)
        name = "nimbus_small_" + uuid.uuid4().hex[:12]
        POSTGRESQL.psql(f"CREATE TABLESPACE {name} LOCATION '{space}'")
        database = "nimbus_e2e_" + uuid.uuid4().hex[:12]
        POSTGRESQL.psql(f"CREATE DATABASE {database} OWNER nimbus TABLESPACE {name}")
        self.addCleanup(POSTGRESQL.psql, f"DROP TABLESPACE IF EXISTS {name}", check=False)
        self.addCleanup(POSTGRESQL.drop_database, database)
        self.sandbox.use_store(f"{POSTGRESQL.uri}/{database}")

    def test_a_conclusion_on_a_full_disk_says_so_and_keeps_nothing(self):
        self.on_small_disk()
        self.init_hotline()
        self.import_calls(["s-1"])
        audit = self.sandbox.count("SELECT count(*) FROM audit")
        self.fill()
        where = "the disk that holds it is full" if ENGINE == "sqlite" else "disk of the PostgreSQL server"
        result = self.assert_fails(73, "session", "conclude", "s-1", "--primary", "Sale", "--as", "mia",
                                   stderr=where)
        self.assertIn("nothing was changed", result.err)
        self.assertNotIn("disk I/O error", result.err)
        self.free()
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM conclusion"), 0)
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM audit"), audit)
        # With room again, the same conclusion goes through.
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale", "--as", "mia")

    @sqlite_only("a full disk under a SQLite store: readers need room for its -shm file too")
    def test_the_hint_names_the_folder(self):
        self.on_small_disk()
        self.init_hotline()
        self.fill()
        self.assert_fails(73, "code", "create", "--type", "primary", "--name", "New",
                          stderr=f"free some space on the disk of {self.disk}")

    def test_a_report_or_export_onto_a_full_disk_says_so_and_leaves_nothing(self):
        self.init_hotline()
        self.import_calls(["s-1"])
        self.fill()
        report = os.path.join(self.disk, "monthly.csv")
        self.assert_fails(73, "report", "usage", "--output", report, stderr="the disk is full")
        folder = os.path.join(self.disk, "export")
        self.assert_fails(73, "report", "export", "--dir", folder, stderr="the disk is full")
        self.assertEqual(os.listdir(self.disk), ["filler"])


class AsRootTest(FullDiskCases, NimbusTestCase):
    def choose_account(self):
        return pwd.getpwuid(0)


class AsOrdinaryUserTest(FullDiskCases, NimbusTestCase):
    def choose_account(self):
        return ordinary_account()


if __name__ == "__main__":
    main()
