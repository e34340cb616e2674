"""init, store location and the checks made when a store is opened."""

import os
import sqlite3

from harness import ENGINE, NimbusTestCase, SCHEMA_VERSION, main, sqlite_only


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class StoreTest(NimbusTestCase):
    def test_init_creates_store_and_tenant(self):
        result = self.run_ok("init", "--tenant", "Contoso", "--format", "json")
        self.assertEqual(
            result.json(),
            {
                "store": self.sandbox.store,
                "tenant": "Contoso",
                "schema_version": SCHEMA_VERSION,
                "previous_schema_version": 0,
            },
        )
        self.assertIn(f"created store {self.sandbox.store} (schema {SCHEMA_VERSION})", result.err)
        if ENGINE == "sqlite":
            with sqlite3.connect(self.sandbox.store) as db:
                self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
                self.assertEqual(db.execute("PRAGMA application_id").fetchone()[0], 0x4E434453)
        else:
            self.assertEqual(self.sandbox.rows("SELECT application_id, schema_version FROM nimbus_codes_store"),
                             [(str(0x4E434453), str(SCHEMA_VERSION))])
        self.assertEqual(self.json_ok("ou", "list")[0]["path"], "Contoso")

    @sqlite_only("a file's mode")
    def test_a_new_store_file_takes_its_mode_from_the_umask(self):
        # As other tools make files: a team's umask 007 lets the group write
        # the store and its -wal and -shm, which take the store's mode.
        for umask, mode in ((0o007, 0o660), (0o022, 0o644), (0o077, 0o600)):
            store = os.path.join(self.sandbox.dir, f"umask-{umask:03o}.db")
            previous = os.umask(umask)
            try:
                self.run_ok("--store", store, "init", "--tenant", "Contoso")
                self.run_ok("--store", store, "code", "create", "--type", "primary", "--name", "Sale")
            finally:
                os.umask(previous)
            self.assertEqual(os.stat(store).st_mode & 0o777, mode, f"umask {umask:03o}")
            # The -wal stays, emptied, when the last connection closes: never made
            # again by a teammate whose umask would show for a moment.
            for companion in ("-wal", "-shm"):
                self.assertEqual(os.stat(store + companion).st_mode & 0o777, mode, companion)
            self.assertEqual(os.path.getsize(store + "-wal"), 0)

    def test_init_again_is_a_noop(self):
        self.init_store()
        records = len(self.json_ok("audit", "list"))
        result = self.run_ok("init")
        self.assertIn("unchanged", result.err)
        self.run_ok("init", "--tenant", "contoso")
        self.assertEqual(len(self.json_ok("audit", "list")), records)

    def test_init_with_another_tenant_conflicts(self):
        self.init_store()
        self.assert_fails(4, "init", "--tenant", "Fabrikam", stderr='already belongs to tenant "Contoso"')

    def test_new_store_needs_a_tenant(self):
        self.assert_fails(64, "init", stderr="--tenant")
        if ENGINE == "sqlite":
            self.assertFalse(os.path.exists(self.sandbox.store))
        else:
            self.assert_fails(66, "code", "list", stderr="is not initialised")

    @sqlite_only("an empty file")
    def test_init_without_tenant_leaves_an_empty_file_uninitialised(self):
        open(self.sandbox.store, "w").close()
        self.assert_fails(64, "init", stderr="needs the name of its tenant root")
        self.assert_fails(66, "code", "list", stderr="is not initialised")
        self.init_store()
        self.assertEqual(self.json_ok("ou", "list")[0]["path"], "Contoso")

    @sqlite_only("folders")
    def test_a_folder_is_not_a_store(self):
        self.assert_fails(66, "code", "list", "--store", self.sandbox.dir, stderr="is a folder")

    @sqlite_only("folders")
    def test_init_creates_missing_folders(self):
        nested = os.path.join(self.sandbox.dir, "a", "b", "store.db")
        self.run_ok("init", "--tenant", "Contoso", "--store", nested)
        self.assertTrue(os.path.isfile(nested))

    @sqlite_only("a missing file; see test_postgresql for a missing database")
    def test_missing_store_is_refused_not_created(self):
        for command in (["code", "list"], ["ou", "list"], ["audit", "list"]):
            self.assert_fails(66, *command, stderr="does not exist")
        result = self.assert_fails(66, "code", "list")
        self.assertIn("nimbus-codes init", result.err)
        self.assertFalse(os.path.exists(self.sandbox.store))

    @sqlite_only("the default store is a file")
    def test_default_location_follows_xdg(self):
        xdg = os.path.join(self.sandbox.dir, "xdg-data")
        self.run_ok("init", "--tenant", "Contoso", env={"NIMBUS_CODES_STORE": None, "XDG_DATA_HOME": xdg})
        self.assertTrue(os.path.isfile(os.path.join(xdg, "nimbus-codes", "store.db")))
        self.run_ok("init", "--tenant", "Contoso", env={"NIMBUS_CODES_STORE": None, "XDG_DATA_HOME": None})
        home_store = os.path.join(self.sandbox.env["HOME"], ".local", "share", "nimbus-codes", "store.db")
        self.assertTrue(os.path.isfile(home_store))

    @sqlite_only("the sqlite: prefix")
    def test_option_beats_environment_and_sqlite_prefix(self):
        other = os.path.join(self.sandbox.dir, "other.db")
        self.run_ok("init", "--tenant", "Fabrikam", "--store", "sqlite:" + other)
        self.assertFalse(os.path.exists(self.sandbox.store))
        self.assertEqual(self.json_ok("ou", "list", "--store", other)[0]["path"], "Fabrikam")

    @sqlite_only("file header; see test_postgresql")
    def test_newer_schema_is_refused_and_untouched(self):
        self.init_store()
        db = sqlite3.connect(self.sandbox.store)
        db.execute("PRAGMA user_version = 99")
        db.commit()
        db.close()  # the last connection folds the WAL into the file
        before = file_bytes(self.sandbox.store)
        self.assert_fails(78, "code", "list", stderr="schema version 99, newer than")
        self.assert_fails(78, "init", stderr="upgrade nimbus-codes")
        self.assertEqual(file_bytes(self.sandbox.store), before)

    @sqlite_only("files; see test_postgresql for foreign databases")
    def test_foreign_and_broken_files_are_refused(self):
        with sqlite3.connect(self.sandbox.store) as db:
            db.execute("CREATE TABLE notes (x)")
            db.execute("PRAGMA application_id = 1234")
        before = file_bytes(self.sandbox.store)
        self.assert_fails(78, "code", "list", stderr="another application")
        self.assert_fails(78, "init", "--tenant", "Contoso", stderr="another application")
        self.assertEqual(file_bytes(self.sandbox.store), before)

        with open(self.sandbox.store, "wb") as f:
            f.write(b"name,type\nSale,primary\n" * 200)
        self.assert_fails(78, "code", "list", stderr="not a SQLite database")

    @sqlite_only("SQLite's lock; see test_postgresql for the server's")
    def test_a_write_waits_then_reports_busy(self):
        self.init_store()
        holder = sqlite3.connect(self.sandbox.store, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            self.assert_fails(75, "code", "create", "--type", "primary", "--name", "Sale",
                              "--busy-timeout", "200", stderr="stayed locked")
            # Readers are not blocked.
            self.run_ok("code", "list")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale")


if __name__ == "__main__":
    main()
