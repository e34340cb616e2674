"""The shared-host way to run (docs/guide.md, "Three ways to run"): a copy of
the binary installed setgid by scripts/nimbus-codes-setup-shared-host, real OS
users, and the store and identity file at the system paths the binary was
built with. Every attack a user of the host could try is tried, as that user.

Needs root (it creates users, a group and the system paths, and removes them
afterwards) and a host where no shared store is set up yet."""

import glob
import os
import pwd
import secrets
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import harness
from harness import BINARY, COMMAND, ROOT, time_limit

SETUP = os.path.join(ROOT, "scripts", "nimbus-codes-setup-shared-host")
TOKEN = secrets.token_hex(2)
GROUP = f"ncsh{TOKEN}"
# Who is who in the identity file (the OS logins carry the run's token).
ADMIN, OWNER, AGENT, OUTSIDER = (f"nc{TOKEN}{role}" for role in ("adm", "own", "bob", "out"))
SECOND_ADMINS = [f"nc{TOKEN}ad{n}" for n in (2, 3)]
EVERYONE = [ADMIN, OWNER, AGENT, OUTSIDER, *SECOND_ADMINS]
# 16 concurrent concluders: four per OS user, the agent and three tenant admins.
RACERS = [AGENT, ADMIN, *SECOND_ADMINS]
# The sanitized build's run (four times slower) checks memory, not the race:
# the plain build runs every round.
ROUNDS = 100 if harness.SLOWDOWN == 1 else 20
# A round: 16 processes conclude one session, at most 0.6 s idle.
ROUND = time_limit(0.6)


def shared_paths():
    out = subprocess.run([BINARY, "__shared-paths"], capture_output=True, text=True,
                         timeout=COMMAND, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def why_not_here():
    """The reason this host cannot run the test, or None."""
    if harness.ENGINE != "sqlite":
        return "the shared host keeps a SQLite store"
    if not harness.is_root():
        return "needs root: it creates OS users, a group and a setgid binary"
    for tool in ("setpriv", "useradd", "userdel", "groupdel", "sqlite3", "cc"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    paths = shared_paths()
    for path in (os.path.dirname(paths["store"]), os.path.dirname(paths["identity"])):
        if os.path.exists(path):
            return f"{path} exists: a shared host is set up here, which the test would touch"
    if os.statvfs(tempfile.gettempdir()).f_flag & os.ST_NOSUID:
        return f"{tempfile.gettempdir()} is mounted nosuid"
    return None


REASON = why_not_here()


@unittest.skipIf(REASON is not None, REASON)
class SharedHostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.paths = shared_paths()
        cls.store = cls.paths["store"]
        cls.identity = cls.paths["identity"]
        cls.addClassCleanup(cls.remove_everything)
        cls.place = tempfile.mkdtemp(prefix="nimbus-shared-", dir="/var/tmp")
        os.chmod(cls.place, 0o755)
        cls.binary = os.path.join(cls.place, "nimbus-codes")
        shutil.copy(BINARY, cls.binary)
        for login in EVERYONE:
            subprocess.run(["useradd", "--create-home", "--home-dir",
                            os.path.join(cls.place, "home", login), "--shell", "/bin/sh", login],
                           check=True, capture_output=True, timeout=COMMAND)
        setup = subprocess.run([SETUP, "--tenant", "Contoso", "--admin", ADMIN, "--group", GROUP,
                                "--binary", cls.binary],
                               capture_output=True, text=True, timeout=time_limit(1.0))
        assert setup.returncode == 0, setup.stderr
        with open(cls.identity, "a", encoding="utf-8") as identity:
            identity.write("\n" + harness.identity_toml({
                OWNER: {"name": "Olga Owner", "owner": ["Hotline"]},
                AGENT: {"name": "Bob Agent", "member": ["Hotline"]},
                **{login: {"name": login, "tenant_admin": True} for login in SECOND_ADMINS},
            }))
        for command in (
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("service", "create", "Hotline", "--ou", "Contoso", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
        ):
            ran = cls.run_as(ADMIN, *command)
            assert ran.returncode == 0, ran.stderr

    @classmethod
    def remove_everything(cls):
        for login in EVERYONE:
            subprocess.run(["userdel", "--force", login], capture_output=True, timeout=COMMAND)
        subprocess.run(["groupdel", GROUP], capture_output=True, timeout=COMMAND)
        for path in (os.path.dirname(cls.paths["store"]), os.path.dirname(cls.paths["identity"]),
                     getattr(cls, "place", None)):
            if path:
                shutil.rmtree(path, ignore_errors=True)

    @classmethod
    def command_as(cls, login, *args, umask=0o022, binary=None):
        """The argument list that runs nimbus-codes as `login` under `umask`."""
        return ["setpriv", f"--reuid={login}", f"--regid={pwd.getpwnam(login).pw_gid}",
                "--init-groups", "--", "sh", "-c", f'umask {umask:03o}; exec "$@"', "sh",
                binary or cls.binary, *args]

    @classmethod
    def environment_of(cls, login, extra=None):
        return {"PATH": "/usr/bin:/bin", "HOME": pwd.getpwnam(login).pw_dir, "LANG": "C.UTF-8",
                "TZ": "Europe/Zurich", **(extra or {})}

    @classmethod
    def run_as(cls, login, *args, env=None, stdin=None, umask=0o022, binary=None):
        return subprocess.run(cls.command_as(login, *args, umask=umask, binary=binary),
                              env=cls.environment_of(login, env), input=stdin,
                              capture_output=True, text=True, timeout=COMMAND)

    def assert_refused(self, code, login, *args, stderr, **kwargs):
        ran = self.run_as(login, *args, **kwargs)
        self.assertEqual(ran.returncode, code, ran)
        self.assertEqual(ran.stdout, "", ran)
        self.assertIn(stderr, ran.stderr, ran)
        return ran

    def import_calls(self, ids):
        rows = "".join(f"{i},Hotline,{AGENT},inbound,2026-11-02T08:00:00Z,"
                       f"2026-11-02T08:05:00Z,accepted,\n" for i in ids)
        ran = self.run_as(OWNER, "session", "import", "-", "--input-format", "csv",
                          stdin="id,service,user,direction,started_at,ended_at,outcome,caller\n"
                          + rows)
        self.assertEqual(ran.returncode, 0, ran.stderr)

    def store_files(self):
        return {name: os.stat(os.path.join(os.path.dirname(self.store), name))
                for name in sorted(os.listdir(os.path.dirname(self.store)))}

    def assert_store_files_guarded(self):
        """The store, its -wal and its -shm, and nothing else, root's and the group's."""
        files = self.store_files()
        base = os.path.basename(self.store)
        self.assertEqual(sorted(files), [base, base + "-shm", base + "-wal"])
        for name, info in files.items():
            self.assertEqual((info.st_uid, info.st_gid, info.st_mode & 0o7777),
                             (0, self.group_id(), 0o660), name)

    @staticmethod
    def group_id():
        return int(subprocess.run(["getent", "group", GROUP], capture_output=True, text=True,
                                  timeout=COMMAND, check=True).stdout.split(":")[2])

    def write_evil_identity(self, login):
        """An identity file of the caller's own that makes them tenant admin, at
        the XDG paths and in their home, all theirs; gives the last."""
        account = pwd.getpwnam(login)
        text = harness.identity_toml({login: {"name": "Me", "tenant_admin": True},
                                      AGENT: {"name": "Bob", "member": ["Hotline"]}})
        home = account.pw_dir
        for folder in (".config", ".config/nimbus-codes", "xdg", "xdg/nimbus-codes"):
            os.makedirs(os.path.join(home, folder), exist_ok=True)
            os.chown(os.path.join(home, folder), account.pw_uid, account.pw_gid)
        for path in (f"{home}/.config/nimbus-codes/identity.toml",
                     f"{home}/xdg/nimbus-codes/identity.toml", f"{home}/evil.toml"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            os.chown(path, account.pw_uid, account.pw_gid)
            os.chmod(path, 0o600)
        return f"{home}/evil.toml"

    # -- who the caller is ---------------------------------------------------

    def test_the_caller_is_the_real_user_and_the_identity_file_roots(self):
        ran = self.run_as(AGENT, "whoami", "--format", "json")
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertIn(f'"{AGENT}"', ran.stdout)
        self.assert_refused(77, AGENT, "code", "create", "--type", "primary", "--name", "Mine",
                            stderr="error:")
        self.assert_refused(77, AGENT, "--as", ADMIN, "code", "list", stderr="error:")
        self.assert_refused(77, OUTSIDER, "code", "list", stderr="is not listed")

    def test_an_identity_file_of_ones_own_is_never_read(self):
        for login in (AGENT, OUTSIDER):
            evil = self.write_evil_identity(login)
            home = pwd.getpwnam(login).pw_dir
            self.assert_refused(77, login, "--identity", evil, "code", "list",
                                stderr="takes no --store or --identity")
            self.assert_refused(77, login, "code", "list", env={"NIMBUS_CODES_IDENTITY": evil},
                                stderr="takes no NIMBUS_CODES_IDENTITY")
            # The XDG paths of a personal store are not looked at.
            for env in ({}, {"XDG_CONFIG_HOME": f"{home}/xdg"}):
                ran = self.run_as(login, "code", "create", "--type", "primary", "--name", "Evil",
                                  env=env)
                self.assertEqual(ran.returncode, 77, ran)
        codes = self.run_as(ADMIN, "code", "list", "--format", "csv").stdout
        self.assertNotIn("Evil", codes)

    def test_no_variable_of_the_tool_is_taken(self):
        for variable, value in (("NIMBUS_CODES_NOW", "2020-01-01T00:00:00Z"),
                                ("NIMBUS_CODES_STORE", "/tmp/other.db"),
                                ("NIMBUS_CODES_BUSY_TIMEOUT", "1")):
            self.assert_refused(77, ADMIN, "whoami", env={variable: value},
                                stderr=f"takes no {variable}")
        # Completion answers nothing rather than read another identity file.
        evil = self.write_evil_identity(OUTSIDER)
        for env in ({}, {"NIMBUS_CODES_IDENTITY": evil}):
            ran = self.run_as(OUTSIDER, "__complete", "--", "service", "show", "", env=env)
            self.assertEqual((ran.returncode, ran.stdout), (0, ""), ran)
        ran = self.run_as(ADMIN, "__complete", "--", "service", "show", "")
        self.assertIn("Hotline", ran.stdout)

    def test_an_identity_file_someone_else_can_change_is_refused(self):
        original = self.identity + ".kept"
        os.rename(self.identity, original)
        self.addCleanup(os.rename, original, self.identity)
        evil = self.write_evil_identity(AGENT)
        cases = {
            "a link to the agent's own file": lambda: os.symlink(evil, self.identity),
            "a file the agent owns": lambda: (shutil.copy(original, self.identity),
                                              os.chown(self.identity, pwd.getpwnam(AGENT).pw_uid, -1)),
            "a file its group may write": lambda: (shutil.copy(original, self.identity),
                                                   os.chmod(self.identity, 0o660)),
        }
        for case, plant in cases.items():
            with self.subTest(case):
                plant()
                try:
                    self.assert_refused(78, AGENT, "code", "list", stderr="the identity file")
                finally:
                    os.unlink(self.identity)
        # A folder on the way that someone else can write lets them swap the file.
        folder = os.path.dirname(self.identity)
        shutil.copy(original, self.identity)
        os.chmod(folder, 0o777)
        try:
            self.assert_refused(78, ADMIN, "code", "list", stderr="which someone other than root")
        finally:
            os.chmod(folder, 0o755)
            os.unlink(self.identity)

    # -- the store -----------------------------------------------------------

    def test_no_store_but_the_shared_one(self):
        before = self.store_files()
        folder = os.path.dirname(self.store)
        self.assert_refused(77, ADMIN, "--store", f"{folder}/other.db", "init", "--tenant", "X",
                            stderr="takes no --store or --identity")
        self.assert_refused(77, ADMIN, "init", stderr="only root runs 'init'")
        self.assert_refused(77, ADMIN, "store", "copy", "--from", self.store, "--to",
                            f"{folder}/copy.db", stderr="only root runs 'store copy'")
        self.assertEqual(sorted(self.store_files()), sorted(before))

    def test_the_store_cannot_be_opened_without_the_tool(self):
        for login in (AGENT, ADMIN):
            ran = subprocess.run(["setpriv", f"--reuid={login}",
                                  f"--regid={pwd.getpwnam(login).pw_gid}", "--init-groups", "--",
                                  "sqlite3", self.store, "UPDATE service SET license = 'x'"],
                                 capture_output=True, text=True, timeout=COMMAND)
            self.assertNotEqual(ran.returncode, 0, ran)
            self.assertIn("unable to open database", ran.stderr)
        self.assert_store_files_guarded()

    def test_store_files_that_a_caller_could_write_are_refused(self):
        shm = self.store + "-shm"
        os.rename(shm, shm + ".kept")
        self.addCleanup(os.rename, shm + ".kept", shm)
        self.assert_refused(78, AGENT, "session", "list", stderr="cannot check the shared store's")
        self.assertFalse(os.path.exists(shm))
        shutil.copy(shm + ".kept", shm)
        os.chown(shm, pwd.getpwnam(AGENT).pw_uid, self.group_id())
        try:
            self.assert_refused(78, AGENT, "session", "list", stderr="can be changed by someone")
        finally:
            os.unlink(shm)

    # -- files the caller names ------------------------------------------------

    def test_files_are_opened_with_the_callers_own_rights(self):
        folder = os.path.dirname(self.store)
        group_only = os.path.join(self.place, "group-only")
        os.mkdir(group_only)
        os.chown(group_only, 0, self.group_id())
        os.chmod(group_only, 0o770)
        calls = os.path.join(self.place, "calls.csv")
        with open(calls, "w", encoding="utf-8") as f:
            f.write("id,service,user,direction,started_at,ended_at,outcome,caller\n"
                    f"secret-1,Hotline,{AGENT},inbound,2026-11-02T08:00:00Z,"
                    "2026-11-02T08:05:00Z,accepted,\n")
        os.chown(calls, 0, self.group_id())
        os.chmod(calls, 0o640)
        self.assert_refused(66, OWNER, "session", "import", calls, stderr="cannot read")
        self.assert_refused(66, OWNER, "session", "import", self.store, "--input-format", "csv",
                            stderr="cannot read")
        self.assert_refused(66, ADMIN, "config", "plan", self.store, stderr="cannot read")
        self.assertNotIn("secret-1", self.run_as(ADMIN, "session", "list").stdout)
        for target in (f"{folder}/report.csv", f"{group_only}/report.csv"):
            self.assert_refused(73, OWNER, "report", "usage", "--service", "Hotline", "--output",
                                target, stderr="cannot write")
            self.assert_refused(73, OWNER, "report", "export", "--dir", target,
                                stderr="cannot write")
        self.assertEqual(os.listdir(group_only), [])
        self.assert_store_files_guarded()
        # What the caller may write, they write, with their own umask and group.
        own = os.path.join(pwd.getpwnam(OWNER).pw_dir, "hotline.csv")
        ran = self.run_as(OWNER, "report", "usage", "--service", "Hotline", "--output", own,
                          umask=0o077)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        info = os.stat(own)
        self.assertEqual((info.st_uid, info.st_gid, info.st_mode & 0o777),
                         (pwd.getpwnam(OWNER).pw_uid, pwd.getpwnam(OWNER).pw_gid, 0o600))
        export = os.path.join(pwd.getpwnam(OWNER).pw_dir, "export")
        ran = self.run_as(OWNER, "report", "export", "--dir", export, umask=0o077)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        for name in os.listdir(export):
            info = os.stat(os.path.join(export, name))
            self.assertEqual((info.st_uid, info.st_gid, info.st_mode & 0o777),
                             (pwd.getpwnam(OWNER).pw_uid, pwd.getpwnam(OWNER).pw_gid, 0o600), name)

    def test_a_planted_library_is_not_loaded(self):
        """LD_LIBRARY_PATH names a folder with a library ICU's name that leaves a
        mark when loaded: the setgid binary never loads it; a copy without the
        bit does, which shows that the plant works."""
        icu = sorted(glob.glob("/usr/lib/*/libicui18n.so.[0-9]*"))
        self.assertTrue(icu, "libicu is installed with nimbus-codes")
        soname = os.path.basename(icu[0]).split(".so.")[0] + ".so." + \
            os.path.basename(icu[0]).split(".so.")[1].split(".")[0]
        plant = os.path.join(self.place, "plant")
        os.mkdir(plant)
        os.chmod(plant, 0o777)
        mark = os.path.join(plant, "loaded")
        source = os.path.join(plant, "plant.c")
        with open(source, "w", encoding="utf-8") as f:
            f.write('#include <stdio.h>\n__attribute__((constructor)) static void plant(void) '
                    f'{{ FILE* f = fopen("{mark}", "w"); if (f) fclose(f); }}\n')
        subprocess.run(["cc", "-shared", "-fPIC", "-o", os.path.join(plant, soname), source],
                       check=True, timeout=time_limit(1))
        # Naming a new code compares it with the others through ICU.
        ran = self.run_as(ADMIN, "code", "create", "--type", "primary", "--name", "Refund",
                          env={"LD_LIBRARY_PATH": plant})
        self.assertEqual(ran.returncode, 0, ran.stderr)
        self.assertFalse(os.path.exists(mark), "the setgid binary loaded the planted library")
        plain = os.path.join(plant, "nimbus-codes")
        shutil.copy(BINARY, plain)
        os.chmod(plain, 0o755)
        home = pwd.getpwnam(ADMIN).pw_dir
        personal = {"LD_LIBRARY_PATH": plant, "NIMBUS_CODES_STORE": f"{home}/own.db",
                    "NIMBUS_CODES_IDENTITY": f"{home}/own.toml"}
        subprocess.run(["cp", self.identity, f"{home}/own.toml"], check=True, timeout=COMMAND)
        os.chown(f"{home}/own.toml", pwd.getpwnam(ADMIN).pw_uid, -1)
        os.chmod(f"{home}/own.toml", 0o600)
        for args in (("init", "--tenant", "Own"), ("code", "create", "--type", "primary",
                                                    "--name", "Sale"),
                     ("code", "create", "--type", "primary", "--name", "Refund")):
            self.run_as(ADMIN, *args, env=personal, binary=plain)
        self.assertTrue(os.path.exists(mark), "the plant was never loaded, so proves nothing")

    def test_closed_standard_streams_never_reach_the_store(self):
        """With its standard streams closed, the store could open as descriptor 1
        and a report be written into it; the C library opens /dev/null there."""
        self.import_calls(["closed-1"])
        command = shlex.join(self.command_as(AGENT, "session", "list", "--format", "csv"))
        ran = subprocess.run(["sh", "-c", f"{command} >&- 2>&- <&-"],
                             env=self.environment_of(AGENT), timeout=COMMAND)
        self.assertIn(ran.returncode, (0, 73))
        check = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)
        self.assertEqual(check.execute("PRAGMA integrity_check").fetchone(), ("ok",))
        check.close()
        verify = self.run_as(ADMIN, "verify")
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    # -- many people at once ----------------------------------------------------

    def test_concurrent_concluders_of_four_users_under_any_umask(self):
        """16 processes, four of each of four OS users, conclude one session at
        once: exactly one wins, the others exit 4, in every round."""
        for umask in (0o022, 0o007):
            with self.subTest(umask=f"{umask:03o}"):
                ids = [f"race-{umask:03o}-{n}" for n in range(ROUNDS)]
                self.import_calls(ids)
                for session in ids:
                    processes = []
                    for login in RACERS:
                        via = [] if login == AGENT else ["--as", AGENT]
                        for _ in range(4):
                            processes.append(subprocess.Popen(
                                self.command_as(login, *via, "--busy-timeout", "60000", "session",
                                                "conclude", session, "--primary", "Sale",
                                                umask=umask),
                                env=self.environment_of(login), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True))
                    codes = []
                    for process in processes:
                        _, err = process.communicate(timeout=ROUND)
                        codes.append((process.returncode, err.strip()))
                    self.assertEqual(sorted(code for code, _ in codes), [0] + [4] * 15,
                                     (session, codes))
                    self.assert_store_files_guarded()


if __name__ == "__main__":
    harness.main()
