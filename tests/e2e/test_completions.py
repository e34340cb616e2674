"""Shell completions: the scripts in completions/ and 'nimbus-codes __complete'."""

import os
import re
import shlex
import subprocess

from harness import BINARY, COMMAND, NimbusTestCase, ROOT, main

SCRIPTS = os.path.join(ROOT, "completions")


class CompletionsTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("code", "create", "--type", "primary", "--name", "No sale"),
            ("code", "create", "--type", "primary", "--name", "Complaint"),
            ("code", "create", "--type", "secondary", "--name", "Upsell"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "No sale,Sale", "--secondary", "Upsell"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
            ("service", "create", "Desk", "--ou", "Contoso", "--license", "basic-routing"),
        ):
            self.run_ok(*command)
        rows = ("id,service,user,direction,started_at,ended_at,outcome,caller\n"
                "m-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,,,\n"
                "m-2,Hotline,mia,inbound,2026-11-21T08:00:00Z,,,\n"
                "m-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,2026-11-22T08:05:00Z,accepted,\n"
                "o-1,Hotline,olga,inbound,2026-11-22T08:00:00Z,,,\n")
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=rows)
        self.run_ok("session", "conclude", "m-3", "--tag", "done")

    def candidates(self, *words):
        result = self.run_ok("__complete", "--", *words)
        self.assertEqual(result.err, "")
        return result.out.splitlines()

    def bash(self, *words):
        """COMPREPLY of the bash script for a command line ending in words[-1]."""
        line = " ".join(shlex.quote(w) for w in (BINARY, *words[:-1])) + " " + words[-1]
        script = f"""
source /usr/share/bash-completion/bash_completion
source {shlex.quote(os.path.join(SCRIPTS, 'nimbus-codes.bash'))}
COMP_WORDS=({' '.join(shlex.quote(w) for w in (BINARY, *words))})
COMP_CWORD={len(words)}
COMP_LINE={shlex.quote(line)}
COMP_POINT=${{#COMP_LINE}}
_nimbus_codes
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
        completed = subprocess.run(["bash", "-c", script], env=self.sandbox.environment(),
                                   capture_output=True, timeout=COMMAND)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        return [line for line in completed.stdout.decode().splitlines() if line]

    def test_commands_and_options(self):
        self.assertIn("session", self.candidates(""))
        self.assertEqual(self.candidates("se"), ["service", "session"])
        self.assertEqual(self.candidates("session", "c"), ["conclude"])
        self.assertNotIn("__complete", self.candidates(""))
        options = self.candidates("code", "create", "--")
        for option in ("--type", "--name", "--description", "--ou", "--store", "--format"):
            self.assertIn(option, options)
        self.assertEqual(self.candidates("help", "session", "co"), ["conclude"])

    def test_fixed_values(self):
        self.assertEqual(self.candidates("code", "create", "--type", ""), ["primary", "secondary"])
        self.assertEqual(self.candidates("service", "create", "X", "--license", "e"), ["enterprise-routing"])
        self.assertEqual(self.candidates("--format", ""), ["table", "json", "csv", "html"])
        self.assertEqual(self.candidates("report", "usage", "--by", "month,c"), ["month,code", "month,concluded-by"])
        self.assertEqual(self.candidates("extension", "enable", "Hotline", "con"), ["conversation-context"])
        self.assertIn("Europe/Zurich", self.candidates("report", "usage", "--tz", "Europe/Z"))

    def test_formats_are_those_the_command_takes(self):
        self.assertEqual(self.candidates("code", "list", "--format", ""), ["table", "json", "csv"])
        self.assertEqual(self.candidates("code", "create", "--format", "h"), [])
        self.assertEqual(self.candidates("report", "usage", "--format", ""), ["table", "json", "csv", "html"])
        self.assertEqual(self.candidates("config", "export", "--format", ""), ["table"])
        # Each one offered is taken.
        for words in (["code", "list"], ["report", "usage"], ["session", "list"]):
            for format in self.candidates(*words, "--format", ""):
                self.run_ok(*words, "--format", format)

    def test_names_from_the_store(self):
        self.assertEqual(self.candidates("service", "show", ""), ["Desk", "Hotline"])
        self.assertEqual(self.candidates("report", "usage", "--service", "h"), ["Hotline"])
        self.assertEqual(self.candidates("ou", "create", "Contoso/"), ["Contoso/", "Contoso/Sales/"])
        self.assertIn("mia", self.candidates("session", "list", "--as", ""))
        self.assertEqual(self.candidates("code", "show", "no"), ["No sale"])
        # A wrap-up default is a code of the service's own list.
        self.assertEqual(self.candidates("service", "wrap-up", ""), ["Desk", "Hotline"])
        self.assertEqual(self.candidates("service", "wrap-up", "Hotline", "--default-primary", ""),
                         self.candidates("session", "conclude", "m-1", "--primary", ""))

    def test_conclude_offers_the_sessions_codes_in_order(self):
        self.assertEqual(self.candidates("session", "conclude", "m-1", "--primary", ""), ["No sale", "Sale"])
        self.assertEqual(self.candidates("session", "conclude", "m-1", "--secondary", ""), ["Upsell"])
        # The caller's open sessions, newest first.
        self.assertEqual(self.candidates("--as", "mia", "session", "conclude", ""), ["m-2", "m-1"])

    def test_an_id_in_two_services_is_offered_as_service_slash_id(self):
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin="id,service,user,direction,started_at,ended_at,outcome,caller\n"
                          "m-1,Desk,olga,inbound,2026-11-23T08:00:00Z,,,\n")
        # The admin sees m-1 in two services: each is offered as the commands take it.
        self.assertEqual(sorted(self.candidates("session", "show", "")),
                         ["Desk/m-1", "Hotline/m-1", "m-2", "m-3", "o-1"])
        self.assertEqual(self.candidates("session", "show", "h"), ["Hotline/m-1"])
        self.assertEqual(self.candidates("session", "conclude", "Hotline/m-1", "--primary", ""), ["No sale", "Sale"])
        self.assertEqual(self.candidates("session", "conclude", "m-1", "--primary", ""), [])  # which one?
        # mia sees Hotline's alone: the plain id.
        self.assertEqual(self.candidates("--as", "mia", "session", "conclude", ""), ["m-2", "m-1"])
        self.assertEqual(self.candidates("--as", "mia", "session", "conclude", "m-1", "--primary", ""),
                         ["No sale", "Sale"])

    def test_only_what_the_caller_may_see(self):
        # A member: their own open sessions, their services' codes; no catalogue, no OUs.
        self.assertEqual(self.candidates("--as", "mia", "code", "show", ""), ["No sale", "Sale", "Upsell"])
        self.assertEqual(self.candidates("--as", "mia", "service", "show", ""), ["Hotline"])
        self.assertEqual(self.candidates("--as", "mia", "ou", "create", "Contoso/"), [])
        self.assertEqual(self.candidates("--as", "mia", "report", "usage", "--user", ""), [])
        self.assertEqual(self.candidates("--as", "mia", "audit", "list", "--actor", ""), [])
        self.assertEqual(self.candidates("--as", "mia", "--as", ""), [])
        # A colleague's session: not confirmed, and its service's codes not listed.
        self.assertEqual(self.candidates("--as", "mia", "session", "conclude", "o-1", "--primary", ""), [])
        self.assertEqual(self.candidates("--as", "olga", "session", "conclude", "o-1", "--primary", ""),
                         ["No sale", "Sale"])
        # A supervisor reads the catalogue and the services.
        self.assertIn("Complaint", self.candidates("--as", "sue", "code", "show", ""))
        self.assertEqual(self.candidates("--as", "sue", "service", "show", ""), ["Desk", "Hotline"])

    def test_nothing_from_the_store_for_someone_not_listed(self):
        self.sandbox.write_identity({"alice": {"name": "Alice Admin", "tenant_admin": True}})
        for words in (["service", "show", ""], ["ou", "create", "Contoso/"], ["code", "show", ""],
                      ["session", "conclude", ""], ["session", "conclude", "m-1", "--primary", ""],
                      ["report", "usage", "--user", ""], ["session", "list", "--as", ""]):
            self.assertEqual(self.candidates(*words), [], words)
        self.assertEqual(self.candidates("se"), ["service", "session"])  # the commands still complete

    def test_never_an_error(self):
        for words in (["--store", "/nonexistent/x.db", "service", "show", ""],
                      ["--identity", "/nonexistent", "session", "conclude", ""],
                      ["session", "conclude", "nope", "--primary", ""],
                      ["frobnicate", ""], []):
            result = self.run_cli("__complete", "--", *words)
            self.assertEqual((result.code, result.out, result.err), (0, "", ""), words)

    def test_bash_script(self):
        self.assertEqual(self.bash("session", "conclude", "m-1", "--primary", ""), ["No\\ sale", "Sale"])
        self.assertEqual(self.bash("ser"), ["service"])
        self.assertEqual(self.bash("report", "usage", "--format", "c"), ["csv"])
        self.assertEqual(self.bash("session", "import", ""), [])  # files: bash's own completion

    def test_scripts_keep_the_programs_order(self):
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,Complaint,No sale")
        self.assertEqual(self.candidates("session", "conclude", "m-1", "--primary", ""),
                         ["Sale", "Complaint", "No sale"])
        # bash sorts unless told not to; compopt is watched by a function of that name.
        script = f"""
source /usr/share/bash-completion/bash_completion
source {shlex.quote(os.path.join(SCRIPTS, 'nimbus-codes.bash'))}
compopt() {{ echo "compopt $*"; }}
COMP_WORDS=({shlex.quote(BINARY)} session conclude m-1 --primary '')
COMP_CWORD=5
COMP_LINE="{BINARY} session conclude m-1 --primary "
COMP_POINT=${{#COMP_LINE}}
_nimbus_codes
printf '%s\n' "${{COMPREPLY[@]}}"
"""
        bash = subprocess.run(["bash", "-c", script], env=self.sandbox.environment(), capture_output=True,
                              text=True, timeout=COMMAND)
        self.assertEqual(bash.stdout.splitlines(), ["compopt -o nosort", "Sale", "Complaint", "No\\ sale"])
        # zsh: compadd into an unsorted group (-V), the candidates in order.
        zsh_script = f"""
compadd() {{ print -r -- "compadd $*"; print -rl -- "${{(@P)${{@[-1]}}}}"; }}
_files() {{ print _files; }}
words=({shlex.quote(BINARY)} session conclude m-1 --primary '')
CURRENT=6
source {shlex.quote(os.path.join(SCRIPTS, '_nimbus-codes'))}
"""
        zsh = subprocess.run(["zsh", "-f", "-c", zsh_script], env=self.sandbox.environment(), capture_output=True,
                             text=True, timeout=COMMAND)
        self.assertEqual(zsh.stdout.splitlines(),
                         ["compadd -V nimbus-codes -a candidates", "Sale", "Complaint", "No sale"], zsh.stderr)
        # fish: the completion is registered to keep the order it is given.
        fish = subprocess.run(["fish", "--no-config", "-c",
                               f"source {shlex.quote(os.path.join(SCRIPTS, 'nimbus-codes.fish'))}; "
                               "complete -c nimbus-codes"], capture_output=True, text=True, timeout=COMMAND)
        self.assertRegex(fish.stdout, r"(^|\s)(-k|--keep-order)\s", fish.stderr)

    def test_scripts_parse_and_pass_shellcheck(self):
        subprocess.run(["shellcheck", "-s", "bash", os.path.join(SCRIPTS, "nimbus-codes.bash")], check=True)
        subprocess.run(["zsh", "-n", os.path.join(SCRIPTS, "_nimbus-codes")], check=True)
        subprocess.run(["fish", "--no-execute", os.path.join(SCRIPTS, "nimbus-codes.fish")], check=True)

    def test_help_command(self):
        self.assertEqual(self.run_ok("help", "session", "conclude").out,
                         self.run_ok("session", "conclude", "--help").out)
        self.assertEqual(self.run_ok("help").out, self.run_ok("--help").out)
        self.assert_fails(64, "help", "session", "frobnicate", stderr='unknown command "frobnicate"')


if __name__ == "__main__":
    main()
