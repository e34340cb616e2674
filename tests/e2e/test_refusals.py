"""Every option a write command refuses is refused before anything happens:
the store is exactly as it was (its dump compared) and no file appeared.

Every case runs twice: as root, and as an ordinary user (nobody, when the
tests run as root), who may write only in the sandbox that is theirs."""

import os
import pwd

from harness import CAST, ENGINE, NimbusTestCase, main, needs_root, ordinary_account

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"

# (command, refused arguments, exit status, words of the message)
REFUSED = [
    (["init", "--tenant", "Contoso"], ["--format", "html"], 64, "'init' does not take --format html"),
    (["init"], ["--as", "mia"], 64, "'init' takes no --as"),
    (["ou", "create", "Contoso/Support"], ["--format", "html"], 64, "does not take --format html"),
    (["code", "create", "--type", "primary", "--name", "New"], ["--format", "html"], 64,
     "'code create' does not take --format html"),
    (["code", "create", "--name", "New"], ["--type", "tertiary"], 64, '"tertiary" is not one of primary'),
    (["code", "edit", "Sale"], ["--name", "Deal", "--format", "html"], 64, "does not take --format html"),
    (["code", "delete", "Sale"], ["--format", "html"], 64, "does not take --format html"),
    (["service", "create", "Desk", "--ou", "Contoso"], ["--license", "gold"], 64, '"gold" is not one of'),
    (["service", "create", "Desk", "--ou", "Contoso", "--license", "basic-routing"], ["--format", "html"], 64,
     "does not take --format html"),
    (["service", "edit", "Hotline"], ["--name", "Line", "--format", "html"], 64, "does not take --format html"),
    (["service", "apply", "Hotline"], ["--primary", "Sale", "--add-primary", "Sale"], 64, "excludes"),
    (["service", "apply", "Hotline", "--primary", ""], ["--format", "html"], 64, "does not take --format html"),
    (["extension", "enable", "Hotline"], ["session-details", "--format", "html"], 64,
     "does not take --format html"),
    (["extension", "disable", "Hotline"], ["x-ray"], 64, '"x-ray" is not one of'),
    (["config", "apply", "CONFIG"], ["--format", "html"], 64, "does not take --format html"),
    (["config", "plan", "CONFIG"], ["--format", "html"], 64, "does not take --format html"),
    (["session", "import", "CALLS"], ["--format", "html"], 64, "does not take --format html"),
    (["session", "import", "CALLS"], ["--input-format", "xml"], 64, '"xml" is not one of csv, jsonl'),
    (["session", "add", "--id", "n-1", "--service", "Hotline", "--user", "mia", "--started-at",
      "2026-11-26T08:00:00Z"], ["--format", "html"], 64, "does not take --format html"),
    (["session", "add", "--id", "n-1", "--service", "Hotline", "--user", "mia", "--started-at",
      "2026-11-26T08:00:00Z"], ["--direction", "sideways"], 64, '"sideways" is not one of'),
    (["session", "conclude", "s-1", "--primary", "Sale"], ["--format", "html"], 64, "does not take --format html"),
    (["session", "conclude", "s-1"], ["--primary"], 64, "--primary needs a value"),
    (["report", "usage", "--format", "html", "--output", "OUT"], ["--summary", "SUMMARY"], 64,
     "--summary takes --format table, json or csv"),
    (["report", "usage", "--output", "OUT"], ["--summary", "OUT"], 64, "name the same file"),
    (["report", "usage", "--output", "OUT"], ["--by", "colour"], 64, 'unknown dimension "colour"'),
    (["report", "export", "--dir", "DIR"], ["--format", "html"], 64, "does not take --format html"),
    (["store", "copy", "--from", "STORE", "--to", "OUT"], ["--format", "html"], 64, "does not take --format html"),
    (["config", "export"], ["--format", "json"], 64, "'config export' does not take --format json"),
]


class RefusalCases:
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
        self.run_ok("session", "conclude", "s-2", "--primary", "Sale", "--as", "mia")
        self.config = self.write("contoso.toml", self.run_ok("config", "export").out.replace(
            'name = "Sale"', 'name = "Sale"\ndescription = "changed"'))
        self.calls = self.write("calls.csv", HEADER + "n-2,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n")

    def write(self, name, text):
        path = super().write(name, text)
        self.sandbox.give(path)
        return path

    def resolve(self, word):
        return {"CONFIG": self.config, "CALLS": self.calls, "STORE": self.sandbox.store,
                "OUT": os.path.join(self.sandbox.dir, "out.csv"),
                "SUMMARY": os.path.join(self.sandbox.dir, "summary.html"),
                "DIR": os.path.join(self.sandbox.dir, "export")}.get(word, word)

    def test_every_refused_option_changes_nothing_and_creates_nothing(self):
        for command, refused, code, message in REFUSED:
            with self.subTest(command=" ".join(command + refused)):
                args = [self.resolve(w) for w in command + refused]
                if command[:2] == ["store", "copy"] and ENGINE == "postgresql":
                    args[args.index(self.resolve("OUT"))] = os.path.join(self.sandbox.dir, "copy.db")
                dump, files = self.sandbox.dump(), self.sandbox.files()
                result = self.run_cli(*args)
                self.assertEqual(result.code, code, repr(result))
                self.assertEqual(result.out, "", repr(result))
                self.assertIn(message, result.err, repr(result))
                self.assertEqual(self.sandbox.dump(), dump, repr(result))
                self.assertEqual(self.sandbox.files(), files, repr(result))

    def test_a_new_store_is_not_created_by_a_refused_init(self):
        path = os.path.join(self.sandbox.dir, "new.db")
        self.assert_fails(64, "--store", path, "init", "--tenant", "New", "--format", "html")
        self.assertFalse(os.path.exists(path))
        for tenant in ("Con\u00adtoso", "id:1", "..", "Con\x1btoso"):
            self.assert_fails(65, "--store", path, "init", "--tenant", tenant)
            self.assertFalse(os.path.exists(path), tenant)


@needs_root("the cases as root")
class AsRootTest(RefusalCases, NimbusTestCase):
    def choose_account(self):
        return pwd.getpwuid(0)


class AsOrdinaryUserTest(RefusalCases, NimbusTestCase):
    def choose_account(self):
        return ordinary_account()


if __name__ == "__main__":
    main()
