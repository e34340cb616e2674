"""Output paths: --output, --summary and report export --dir write only where
the caller meant, never through someone else's link, never onto a block
device, never over the tool's own files; a replaced file keeps its mode.

Every case runs twice: as root, and as an ordinary user (nobody, when the
tests run as root). Files and links that "someone else" made belong to a user
id with no account; only root can make them, so those cases need root."""

import hashlib
import json
import os
import pwd
import stat
import subprocess
import threading

from harness import (CAST, COMMAND, ENGINE, NimbusTestCase, STRANGER_UID, is_root, main, needs_root,
                     ordinary_account, sqlite_only)


class OutputCases:
    """The cases; the classes below say whom they run as."""

    def setUp(self):
        super().setUp()
        self.account = self.choose_account()
        self.sandbox.become(self.account)
        users = dict(CAST)
        users[self.account.pw_name] = {"name": "Runner", "tenant_admin": True}
        self.sandbox.write_identity(users)
        self.init_hotline()
        self.import_calls(["s-1", "s-2"])
        self.run_ok("session", "conclude", "s-1", "--primary", "Sale", "--as", "mia")

    def path(self, name):
        return os.path.join(self.sandbox.dir, name)

    def make_file(self, name, content="before\n", mode=0o644, owner=None):
        path = self.path(name)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        if owner is not None:
            os.lchown(path, owner, owner)
        else:
            self.sandbox.give(path)
        return path

    def make_link(self, name, target, owner=None):
        """A symbolic link made by the caller, or by `owner` (a user id)."""
        path = self.path(name)
        os.symlink(target, path)
        if owner is not None:
            os.lchown(path, owner, owner)
        else:
            self.sandbox.give(path)
        return path

    def read(self, path):
        with open(path, newline="") as f:  # CSV's CRLF as it is
            return f.read()

    def report(self, *args, **kwargs):
        return self.run_cli("report", "usage", "--month", "2026-11", "--format", "csv", *args, **kwargs)

    def expected_csv(self):
        return self.run_ok("report", "usage", "--month", "2026-11", "--format", "csv").out

    def read_bytes(self, path):
        with open(path, "rb") as f:
            return f.read()

    def assert_refused(self, code, *args, stderr, untouched=()):
        before = {path: self.read_bytes(path) for path in untouched}
        result = self.report(*args)
        self.assertEqual(result.code, code, repr(result))
        self.assertEqual(result.out, "", repr(result))
        self.assertIn(stderr, result.err, repr(result))
        for path, content in before.items():
            self.assertEqual(self.read_bytes(path), content, path)
        return result

    def assert_no_temporary_files(self, folder=None):
        folder = folder or self.sandbox.dir
        self.assertEqual([n for n in os.listdir(folder) if n.startswith(".") and n != ".config"], [])

    # -- standard output and the process's own descriptors

    def test_dash_and_dev_stdout_are_standard_output(self):
        expected = self.expected_csv()
        self.assertEqual(self.report("--output", "-").out, expected)
        captured = self.make_file("captured.csv", "")
        with open(captured, "w") as out:
            completed = subprocess.run(self.sandbox.command("report", "usage", "--month", "2026-11", "--format",
                                                            "csv", "--output", "/dev/stdout"),
                                       env=self.sandbox.env, stdout=out, stderr=subprocess.PIPE, timeout=COMMAND)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assertEqual(self.read(captured), expected)
        # The system's link stays a link: it is a name for descriptor 1, never a file.
        self.assertTrue(os.path.islink("/dev/stdout"))
        self.assert_no_temporary_files()

    def test_dev_stderr_and_dev_fd_are_the_process_own_descriptors(self):
        expected = self.expected_csv()
        result = self.report("--output", "/dev/stderr")
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(result.out, "")
        self.assertTrue(result.err.startswith(expected), repr(result))
        read_end, write_end = os.pipe()
        completed = subprocess.run(self.sandbox.command("report", "usage", "--month", "2026-11", "--format", "csv",
                                                        "--output", f"/dev/fd/{write_end}"),
                                   env=self.sandbox.env, capture_output=True, timeout=COMMAND, pass_fds=(write_end,))
        os.close(write_end)
        with os.fdopen(read_end, newline="") as pipe:
            self.assertEqual(pipe.read(), expected)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        self.assert_refused(73, "--output", "/dev/fd/9", stderr="descriptor 9 is not open")

    # -- devices and FIFOs: in place, only when named directly

    def test_a_character_device_or_fifo_named_directly_is_written_in_place(self):
        self.assertEqual(self.report("--output", "/dev/null").code, 0)
        fifo = self.path("report.fifo")
        os.mkfifo(fifo)
        self.sandbox.give(fifo)
        received = []
        reader = threading.Thread(target=lambda: received.append(self.read(fifo)))
        reader.start()
        result = self.report("--output", fifo)
        reader.join(timeout=COMMAND)
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(received, [self.expected_csv()])
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_a_link_to_a_device_is_refused_even_the_callers_own(self):
        link = self.make_link("monthly.csv", "/dev/null")
        self.assert_refused(73, "--output", link, stderr="symbolic link to the device /dev/null")
        self.assertTrue(os.path.islink(link))

    @needs_root("making a block device node")
    def test_a_block_device_is_never_written(self):
        # loop device 250 rarely exists: even a wrong write would go nowhere.
        device = self.path("disk")
        os.mknod(device, 0o660 | stat.S_IFBLK, os.makedev(7, 250))
        self.sandbox.give(device)  # the caller could write it: still refused
        self.assert_refused(73, "--output", device, stderr="is a block device")
        link = self.make_link("monthly.csv", device)
        self.assert_refused(73, "--output", link, stderr="is a block device")
        self.assertTrue(stat.S_ISBLK(os.lstat(device).st_mode))

    # -- symbolic links

    @needs_root("a link that another user made")
    def test_a_link_someone_else_planted_is_never_followed(self):
        target = self.make_file("precious.txt", "keep me\n")
        shared = self.path("shared")
        os.makedirs(shared)
        os.chmod(shared, 0o1777)
        planted = os.path.join(shared, "monthly.csv")
        os.symlink(target, planted)
        os.lchown(planted, STRANGER_UID, STRANGER_UID)
        self.assert_refused(73, "--output", planted, stderr="is a symbolic link that belongs to uid 4242",
                            untouched=[target])
        self.assertTrue(os.path.islink(planted))
        # A planted folder link in the path is not followed either.
        real = self.path("real")
        os.makedirs(real)
        self.sandbox.give(real)
        folder_link = os.path.join(shared, "reports")
        os.symlink(real, folder_link)
        os.lchown(folder_link, STRANGER_UID, STRANGER_UID)
        self.assert_refused(73, "--output", os.path.join(folder_link, "monthly.csv"),
                            stderr="belongs to uid 4242")
        self.assertEqual(os.listdir(real), [])

    def test_the_callers_own_link_leads_to_the_file_and_stays_a_link(self):
        target = self.make_file("november.csv", "old\n", mode=0o640)
        link = self.make_link("latest.csv", "november.csv")
        result = self.report("--output", link)
        self.assertEqual(result.code, 0, repr(result))
        self.assertTrue(os.path.islink(link))
        self.assertEqual(self.read(target), self.expected_csv())
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o640)
        self.assert_no_temporary_files()

    # -- regular files

    def test_a_replaced_report_keeps_its_mode_and_group(self):
        report = self.make_file("monthly.csv", "old\n", mode=0o600)
        group = os.stat(report).st_gid
        if is_root() and self.sandbox.account is None:
            group = 65534  # root may keep any group: one that is not its own
            os.chown(report, 0, group)
        self.assertEqual(self.report("--output", report).code, 0)
        info = os.stat(report)
        self.assertEqual(stat.S_IMODE(info.st_mode), 0o600)
        self.assertEqual(info.st_gid, group)
        self.assertEqual(self.read(report), self.expected_csv())
        self.assert_no_temporary_files()
        # A report made read-only is kept, and the refusal says what to do;
        # root may write any file, so only an ordinary caller is refused.
        if self.account.pw_uid != 0:
            os.chmod(report, 0o400)
            result = self.assert_refused(73, "--output", report, stderr="is read-only for you", untouched=[report])
            self.assertIn("nimbus-codes: hint: make it writable first (chmod u+w)", result.err)
            self.assertEqual(stat.S_IMODE(os.stat(report).st_mode), 0o400)
            if is_root():
                theirs = self.make_file("theirs.csv", mode=0o644, owner=STRANGER_UID)
                result = self.assert_refused(73, "--output", theirs, stderr="is read-only for you",
                                             untouched=[theirs])
                self.assertIn("nimbus-codes: hint: it belongs to uid 4242: name a file of your own", result.err)
            self.assert_no_temporary_files()

    @needs_root("a file that another user owns")
    def test_someone_elses_file_in_a_shared_sticky_folder_is_theirs(self):
        shared = self.path("shared")
        os.makedirs(shared)
        os.chmod(shared, 0o1777)
        theirs = os.path.join(shared, "monthly.csv")
        with open(theirs, "w") as f:
            f.write("theirs\n")
        os.chmod(theirs, 0o666)
        os.chown(theirs, STRANGER_UID, STRANGER_UID)
        self.assert_refused(73, "--output", theirs, stderr="belongs to uid 4242 in the shared folder",
                            untouched=[theirs])

    def test_folders_and_missing_folders_are_refused(self):
        self.assert_refused(73, "--output", self.sandbox.dir, stderr="is a folder")
        self.assert_refused(73, "--output", self.path("missing/monthly.csv"), stderr="does not exist")
        self.assertFalse(os.path.exists(self.path("missing")))

    # -- the tool's own files

    def test_an_output_is_never_the_identity_file_or_another_output(self):
        self.assert_refused(64, "--output", self.sandbox.identity, stderr="is the identity file",
                            untouched=[self.sandbox.identity])
        report = self.path("monthly.csv")
        self.assert_refused(64, "--output", report, "--summary", report,
                            stderr="--output and --summary name the same file")
        self.assert_refused(64, "--output", "-", "--summary", "/dev/stdout",
                            stderr="--output and --summary name the same file")
        self.assertFalse(os.path.exists(report))
        self.assert_no_temporary_files()

    @sqlite_only("the store's own files")
    def test_an_output_is_never_the_store_or_its_journals(self):
        store = self.sandbox.store
        companions = [store + suffix for suffix in ("", "-wal", "-shm") if os.path.exists(store + suffix)]
        for name in (store, store + "-wal", store + "-shm", store + "-journal",
                     os.path.join(self.sandbox.dir, ".", "store.db")):
            self.assert_refused(64, "--output", name, stderr="nimbus-codes never writes over it",
                                untouched=companions)
            self.assert_refused(64, "--summary", name, stderr="nimbus-codes never writes over it",
                                untouched=companions)
        link = self.make_link("store-link.csv", store)
        self.assert_refused(64, "--output", link, stderr="is the store", untouched=companions)
        self.assertFalse(os.path.exists(store + "-journal"))
        self.assertEqual(self.json_ok("code", "list")[0]["name"], "Sale")

    def test_an_html_summary_is_refused_before_anything_is_written(self):
        page = self.path("u.html")
        summary = self.path("s.html")
        result = self.run_cli("report", "usage", "--format", "html", "--output", page, "--summary", summary)
        self.assertEqual(result.code, 64, repr(result))
        self.assertIn("--summary takes --format table, json or csv", result.err)
        self.assertFalse(os.path.exists(page))
        self.assertFalse(os.path.exists(summary))

    def test_output_and_summary_are_written_together(self):
        report = self.path("monthly.csv")
        summary = self.path("summary.csv")
        result = self.report("--output", report, "--summary", summary)
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(self.read(report), self.expected_csv())
        self.assertIn("from,to,time_zone,sessions", self.read(summary))
        self.assertIn(f"wrote {report}", result.err)
        self.assertIn(f"wrote {summary}", result.err)

    # -- report export --dir

    def export(self, folder):
        return self.run_cli("report", "export", "--dir", folder)

    def test_export_writes_only_a_new_empty_or_earlier_export_folder(self):
        folder = self.path("export")
        self.assertEqual(self.export(folder).code, 0)
        manifest = json.loads(self.read(os.path.join(folder, "manifest.json")))
        os.chmod(folder, 0o750)
        # An earlier export is replaced whole, keeping the folder's mode.
        self.assertEqual(self.export(folder).code, 0)
        self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o750)
        self.assertEqual(sorted(os.listdir(folder)), sorted(["manifest.json"] + [f["name"] for f in manifest["files"]]))
        empty = self.path("empty")
        os.makedirs(empty)
        self.sandbox.give(empty)
        self.assertEqual(self.export(empty).code, 0)
        self.assertIn("manifest.json", os.listdir(empty))
        self.assert_no_temporary_files()

    def test_export_never_replaces_what_it_did_not_write(self):
        documents = self.path("Documents")
        os.makedirs(os.path.join(documents, "letters"))
        with open(os.path.join(documents, "letters", "mum.txt"), "w") as f:
            f.write("dear mum\n")
        self.sandbox.give(documents)
        result = self.export(documents)
        self.assertEqual(result.code, 73, repr(result))
        self.assertIn("holds files that nimbus-codes did not write", result.err)
        self.assertEqual(self.read(os.path.join(documents, "letters", "mum.txt")), "dear mum\n")
        plain = self.make_file("plain.txt", "a file\n")
        result = self.export(plain)
        self.assertEqual(result.code, 73, repr(result))
        self.assertIn("is not a folder", result.err)
        self.assertEqual(self.read(plain), "a file\n")
        # An earlier export with a file of someone's own added is not replaced either.
        folder = self.path("export")
        self.assertEqual(self.export(folder).code, 0)
        notes = os.path.join(folder, "notes.txt")
        with open(notes, "w") as f:
            f.write("mine\n")
        self.assertEqual(self.export(folder).code, 73)
        self.assertEqual(self.read(notes), "mine\n")
        self.assert_no_temporary_files()

    def test_export_never_replaces_a_newer_models_export(self):
        folder = self.path("export")
        self.assertEqual(self.export(folder).code, 0)
        manifest_path = os.path.join(folder, "manifest.json")
        manifest = json.loads(self.read(manifest_path))
        self.assertEqual(manifest["model_version"], 4)
        manifest["model_version"] = 5
        with open(manifest_path, "w") as f:
            json.dump(manifest, f)
        before = {name: self.read_bytes(os.path.join(folder, name)) for name in os.listdir(folder)}
        result = self.export(folder)
        self.assertEqual(result.code, 78, repr(result))
        self.assertIn(f"{folder} was written by a newer nimbus-codes (nimbus-codes reporting model "
                      "model_version 5; this one writes 4)", result.err)
        self.assertEqual({name: self.read_bytes(os.path.join(folder, name)) for name in os.listdir(folder)}, before)
        self.assert_no_temporary_files()

    @needs_root("a link that another user made")
    def test_export_never_follows_a_planted_link(self):
        real = self.path("real")
        os.makedirs(real)
        self.sandbox.give(real)
        planted = self.path("export")
        os.symlink(real, planted)
        os.lchown(planted, STRANGER_UID, STRANGER_UID)
        result = self.export(planted)
        self.assertEqual(result.code, 73, repr(result))
        self.assertIn("belongs to uid 4242", result.err)
        self.assertEqual(os.listdir(real), [])


    # -- report usage --per-service

    def per_service(self, folder, *args):
        return self.report("--per-service", folder, *args)

    def add_service(self, name):
        self.run_ok("service", "create", name, "--ou", "Contoso/Sales", "--license", "contact-center")
        self.run_ok("service", "apply", name, "--primary", "Sale")

    def test_per_service_writes_each_services_report_and_a_manifest(self):
        self.add_service("Care/Desk: 2nd")
        self.add_service(".Back office.")
        folder = self.path("monthly")
        result = self.per_service(folder)
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(result.out.splitlines(), [
            "service,file,rows", ".Back office.,_Back office_.csv,1", "Care/Desk: 2nd,Care_Desk_ 2nd.csv,1",
            "Hotline,Hotline.csv,1"])
        self.assertIn(f"wrote 3 reports of 2026-11-01 to 2026-11-30 to {folder}", result.err)
        manifest = json.loads(self.read(os.path.join(folder, "manifest.json")))
        self.assertEqual((manifest["format"], manifest["format_version"], manifest["first_day"],
                          manifest["last_day"], manifest["time_zone"]),
                         ("nimbus-codes usage reports", 1, "2026-11-01", "2026-11-30", "UTC"))
        self.assertEqual(sorted(os.listdir(folder)), sorted(["manifest.json"] + [f["name"] for f in manifest["files"]]))
        for entry in manifest["files"]:
            # Each file is the report of that one service, as --service gives it.
            alone = self.run_ok("report", "usage", "--month", "2026-11", "--format", "csv",
                                "--service", entry["service"]).out
            content = self.read(os.path.join(folder, entry["name"]))
            self.assertEqual(content, alone, entry)
            self.assertEqual(entry["sha256"], hashlib.sha256(content.encode()).hexdigest())
        hotline = self.read(os.path.join(folder, "Hotline.csv"))
        self.assertEqual(hotline.splitlines()[1], "primary,Sale,1,1,1.0000")
        # An owner gets the services they may read, and no others.
        owned = self.path("owned")
        result = self.run_cli("report", "usage", "--month", "2026-11", "--format", "json", "--per-service",
                              owned, "--as", "olga")
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(sorted(os.listdir(owned)), ["Hotline.json", "manifest.json"])
        self.assertIn(f"wrote 1 report of 2026-11-01 to 2026-11-30 to {owned}", result.err)
        self.assertEqual(json.loads(self.read(os.path.join(owned, "Hotline.json"))),
                         self.json_ok("report", "usage", "--month", "2026-11", "--service", "Hotline"))
        self.assert_no_temporary_files()

    def test_per_service_replaces_only_its_own_earlier_folder(self):
        folder = self.path("monthly")
        self.assertEqual(self.per_service(folder).code, 0)
        os.chmod(folder, 0o750)
        self.run_ok("session", "conclude", "s-2", "--primary", "Sale", "--as", "mia")
        self.assertEqual(self.per_service(folder).code, 0)
        self.assertEqual(stat.S_IMODE(os.stat(folder).st_mode), 0o750)
        self.assertEqual(self.read(os.path.join(folder, "Hotline.csv")).splitlines()[1], "primary,Sale,1,2,1.0000")
        # A file of someone's own beside the reports: nothing is replaced.
        notes = self.make_file(os.path.join("monthly", "notes.txt"), "mine\n")
        self.assert_refused(73, "--per-service", folder, stderr="holds files that nimbus-codes did not write",
                            untouched=[notes, os.path.join(folder, "Hotline.csv")])
        os.remove(notes)
        # A newer nimbus-codes's folder is never replaced by this one.
        manifest_path = os.path.join(folder, "manifest.json")
        manifest = json.loads(self.read(manifest_path))
        manifest["format_version"] = 2
        with open(manifest_path, "w") as f:
            json.dump(manifest, f)
        result = self.assert_refused(78, "--per-service", folder, stderr="written by a newer nimbus-codes",
                                     untouched=[manifest_path, os.path.join(folder, "Hotline.csv")])
        self.assertIn("format_version 2; this one writes 1", result.err)
        self.assert_no_temporary_files()

    def test_per_service_refuses_before_anything_is_written(self):
        self.add_service("Care/Desk")
        self.add_service("Care_Desk")
        folder = self.path("monthly")
        result = self.assert_refused(64, "--per-service", folder,
                                     stderr='services "Care/Desk" and "Care_Desk" would both be written to Care_Desk.csv')
        self.assertIn("--service", result.err)
        for args, stderr in ((("--output", self.path("x.csv")), "--output excludes --per-service"),
                             (("--summary", self.path("x.csv")), "--summary excludes --per-service")):
            self.assert_refused(64, "--per-service", folder, *args, stderr=stderr)
        result = self.run_cli("report", "usage", "--month", "2026-11", "--per-service", folder)
        self.assertEqual((result.code, result.out), (64, ""), repr(result))
        self.assertIn("--per-service writes csv or json files", result.err)
        self.assertFalse(os.path.exists(folder))
        self.assertFalse(os.path.exists(self.path("x.csv")))
        self.assert_no_temporary_files()

@needs_root("the cases as root")
class AsRootTest(OutputCases, NimbusTestCase):
    def choose_account(self):
        return pwd.getpwuid(0)

    def test_a_replaced_folder_of_another_group_keeps_it_for_what_is_written_in_it(self):
        # An admin made the folder for its readers' group, set-group-ID, in a plain parent.
        folder = self.path("export")
        os.makedirs(folder)
        os.chown(folder, 0, STRANGER_UID)
        os.chmod(folder, 0o2750)
        for _ in range(2):  # into the empty folder, then replacing the export
            self.assertEqual(self.export(folder).code, 0)
            info = os.stat(folder)
            self.assertEqual((info.st_gid, stat.S_IMODE(info.st_mode)), (STRANGER_UID, 0o2750))
            for name in os.listdir(folder):
                self.assertEqual(os.stat(os.path.join(folder, name)).st_gid, STRANGER_UID, name)


class AsOrdinaryUserTest(OutputCases, NimbusTestCase):
    def choose_account(self):
        return ordinary_account()


if __name__ == "__main__":
    main()
