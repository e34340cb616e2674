"""Command-line conventions: help, usage errors, global options, formats, streams."""

import csv
import io
import json
import os
import subprocess

from harness import BINARY, CAST, COMMAND, LOGIN, SCHEMA_VERSION, NimbusTestCase, main


class CliTest(NimbusTestCase):
    def test_help_and_version(self):
        result = self.run_ok("--help")
        self.assertIn("Exit status:", result.out)
        self.assertIn("77  permission denied", result.out)
        self.assertEqual(result.err, "")
        sub = self.run_ok("code", "create", "--help")
        self.assertIn("--type", sub.out)

    def test_version_names_the_schema_and_engines(self):
        text = self.run_ok("--version")
        self.assertRegex(text.out, r"\Animbus-codes \d+\.\d+\.\d+\n")
        self.assertIn(f"\nstore schema: {SCHEMA_VERSION}\n", text.out)
        self.assertIn("\nfile formats: configuration 1, identity 1, export model 4, usage reports 1\n", text.out)
        self.assertTrue(text.out.endswith("\nengines: sqlite, postgresql\n"), text.out)
        self.assertEqual(text.err, "")
        # --format is read wherever it stands, and a bad one is still refused.
        for words in (("--version", "--format", "json"), ("--format=json", "--version")):
            parsed = json.loads(self.run_ok(*words).out)
            self.assertEqual(parsed["name"], "nimbus-codes")
            self.assertEqual(parsed["version"], text.out.split("\n")[0].split(" ")[1])
            self.assertEqual(parsed["schema"], SCHEMA_VERSION)
            self.assertEqual(parsed["engines"], ["sqlite", "postgresql"])
            self.assertEqual(parsed["formats"], {"configuration": 1, "identity": 1, "export model": 4,
                                                 "usage reports": 1})
        self.assert_fails(64, "--version", "--format", "xml", stderr='"xml" is not one of')

    def test_usage_errors_exit_64(self):
        self.init_store()
        self.assert_fails(64, "frobnicate", stderr='unknown command "frobnicate"')
        self.assert_fails(64, "cod", "list", stderr="did you mean 'code'?")
        self.assert_fails(64, "--store", self.sandbox.store, "code", "lst", stderr="did you mean 'list'?")
        self.assert_fails(64, stderr="no command given")
        self.assert_fails(64, "code", stderr="'code' needs a subcommand")
        self.assert_fails(64, "code", "list", "extra", stderr="extra")
        self.assert_fails(64, "code", "create", "--name", "Sale", stderr="--type")
        self.assert_fails(64, "code", "create", "--type", "tertiary", "--name", "Sale")
        self.assert_fails(64, "code", "list", "--format", "xml")
        self.assert_fails(64, "code", "list", "--busy-timeout", "-1")

    def test_control_characters_never_reach_the_terminal_raw(self):
        self.init_hotline()
        escape = "\x1b[2J\x1b]0;owned\x07"
        # In an error about an imported row, and in a message about a command line.
        rows = ("id,service,user,direction,started_at,ended_at,outcome,caller\n"
                f"e-1,{escape}Hotline,mia,inbound,2026-11-26T08:00:00Z,,,\n")
        result = self.assert_fails(65, "session", "import", "-", "--input-format", "csv", stdin=rows)
        self.assertIn('"\\x1b[2J\\x1b]0;owned\\x07Hotline"', result.err)
        self.assertNotIn("\x1b", result.err)
        result = self.assert_fails(65, "service", "show", f"{escape}Desk")
        self.assertNotIn("\x1b", result.err)
        self.assertIn("\\x1b[2J", result.err)
        # In data shown in a table: the identity file's e-mail, as whoami shows it.
        users = dict(CAST)
        users[LOGIN] = dict(CAST[LOGIN], email=f"runner{escape}@contoso.example")
        self.sandbox.write_identity(users)
        shown = self.run_ok("whoami")
        self.assertNotIn("\x1b", shown.out)
        self.assertIn("runner\\x1b[2J", shown.out)
        # JSON keeps the data as it is, escaped as JSON does.
        self.assertEqual(self.json_ok("whoami")["email"], f"runner{escape}@contoso.example")

    def test_refusals_of_values_read_as_sentences(self):
        self.init_store()
        for args, message in (
                (["session", "list", "--limit", "0"], '--limit: "0" is not a whole number from 1 to 1000000000'),
                (["session", "list", "--limit", "many"], '--limit: "many" is not a whole number from 1 to'),
                (["code", "list", "--busy-timeout", "-1"], '--busy-timeout: "-1" is not a whole number from 0 to '
                                                          '3600000'),
                (["code", "list", "--type", "tertiary"], '--type: "tertiary" is not one of primary, secondary'),
                (["code", "list", "--format", "xml"], '--format: "xml" is not one of table, json, csv, html'),
                (["session", "conclude", "s-1", "--primary"], "--primary needs a value (CODE)")):
            result = self.assert_fails(64, *args, stderr=message)
            self.assertNotIn("179769313486", result.err)
            self.assertNotIn("0.000000", result.err)

    def test_global_options_before_or_after_the_command(self):
        other = os.path.join(self.sandbox.dir, "other.db")
        self.run_ok("--store", other, "init", "--tenant", "Fabrikam")
        before = self.run_ok("--store", other, "--format", "json", "ou", "list").json()
        after = self.run_ok("ou", "list", "--store", other, "--format", "json").json()
        self.assertEqual(before, after)
        self.assertEqual(after[0]["path"], "Fabrikam")

    def test_quiet_silences_messages_not_errors(self):
        self.init_store()
        result = self.run_ok("code", "create", "--type", "primary", "--name", "Sale", "--quiet")
        self.assertEqual(result.err, "")
        self.assert_fails(4, "code", "create", "--type", "primary", "--name", "sale", "--description", "x", "-q")

    def test_csv_reads_back(self):
        self.init_store()
        self.run_ok("code", "create", "--type", "primary", "--name", "Sale, with comma",
                    "--description", 'He said "yes"')
        self.run_ok("code", "create", "--type", "primary", "--name", "=1+1")
        text = self.run_ok("code", "list", "--format", "csv").out
        self.assertIn("\r\n", text)
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0]["name"], "'=1+1")  # neutralised against formula injection
        self.assertEqual(rows[1]["name"], "Sale, with comma")
        self.assertEqual(rows[1]["description"], 'He said "yes"')
        self.assertEqual(list(rows[0].keys()), ["id", "type", "name", "ou", "description", "created_at", "deleted_at"])

    def test_data_on_stdout_messages_on_stderr(self):
        created = self.run_ok("init", "--tenant", "Contoso")
        self.assertIn("TENANT", created.out)
        self.assertIn("created store", created.err)

    def test_arguments_that_are_not_utf8_are_refused_before_anything_happens(self):
        store = os.path.join(self.sandbox.dir.encode(), b"bad\xff.db")
        completed = subprocess.run([BINARY, "init", "--tenant", "Contoso", "--format", "json", b"--store", store],
                                   env=self.sandbox.env, capture_output=True, timeout=COMMAND)
        self.assertEqual(completed.returncode, 65, completed.stderr)
        self.assertEqual(completed.stdout, b"")
        self.assertIn(b'argument 7 ("' + store.replace(b"\xff", b"\\xff") + b'") is not valid UTF-8',
                      completed.stderr)
        self.assertFalse(os.path.exists(store))
        self.init_store()
        for args, named in (([b"code", b"show", b"Sa\xc3"], b"argument 3"),
                            ([b"code", b"create", b"--type", b"primary", b"--name", b"Sa\xc0\xafle"], b"argument 6"),
                            ([b"session", b"conclude", b"s-1\xed\xa0\x80", b"--tag", b"vip"], b"argument 3")):
            completed = subprocess.run([BINARY, *args], env=self.sandbox.env, capture_output=True, timeout=COMMAND)
            self.assertEqual(completed.returncode, 65, completed.stderr)
            self.assertIn(named + b" (", completed.stderr)
            self.assertNotIn(b"\xc3", completed.stderr)  # shown escaped, never raw
        self.assertEqual(self.json_ok("code", "list"), [])
        bad_env = subprocess.run([BINARY, "code", "list"], env=dict(self.sandbox.env, NIMBUS_CODES_STORE=store),
                                 capture_output=True, timeout=COMMAND)
        self.assertEqual(bad_env.returncode, 65, bad_env.stderr)
        self.assertIn(b"NIMBUS_CODES_STORE=", bad_env.stderr)

    def test_unwritable_stdout_exits_73(self):
        self.init_store()
        env = dict(self.sandbox.env)
        with open("/dev/full", "w") as full:
            completed = subprocess.run([BINARY, "code", "list"], env=env, stdout=full,
                                       stderr=subprocess.PIPE, text=True, timeout=COMMAND)
        self.assertEqual(completed.returncode, 73, completed.stderr)
        self.assertIn("cannot write to standard output", completed.stderr)


if __name__ == "__main__":
    main()
