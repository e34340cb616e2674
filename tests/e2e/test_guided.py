"""The guided conclusion, driven through a pseudo-terminal as an agent would use it."""

import os
import pty
import select
import signal
import termios
import time

from harness import BINARY, CAST, COMMAND, NimbusTestCase, main

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"


class Terminal:
    """A program on a pseudo-terminal: read what it shows, type answers."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the program, on the terminal
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        # Ctrl-C makes the terminal discard its pending output just after it
        # sends SIGINT; without NOFLSH that can race with, and swallow, what
        # the program says about the interruption.
        attributes = termios.tcgetattr(self.fd)
        attributes[3] |= termios.NOFLSH
        termios.tcsetattr(self.fd, termios.TCSANOW, attributes)
        self.screen = ""

    def expect(self, text, timeout=COMMAND):
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} did not appear; the screen shows:\n{self.screen}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} did not appear before the end:\n{self.screen}")
                self.screen += chunk.decode("utf-8", "replace")
        return self.screen

    def type(self, text):
        os.write(self.fd, text.encode())

    def answer(self, line):
        self.type(line + "\r")

    def wait(self):
        """The exit status, or the negative signal number that ended the program."""
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.screen += chunk.decode("utf-8", "replace")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


class GuidedConcludeTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline"]}))
        self.init_store()
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale", "--description", "The customer bought"),
            ("code", "create", "--type", "primary", "--name", "No sale"),
            ("code", "create", "--type", "secondary", "--name", "Upsell"),
            ("code", "create", "--type", "secondary", "--name", "Rückruf"),
            ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Hotline", "--primary", "Sale,No sale", "--secondary", "Upsell,Rückruf"),
            ("extension", "enable", "Hotline", "codes-and-tags"),
            # A service without codes and tags: its sessions cannot be concluded.
            ("service", "create", "Desk", "--ou", "Contoso/Sales", "--license", "basic-routing"),
        ):
            self.run_ok(*command)
        self.sandbox.write_identity(dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline"]},
                                         mia={"name": "Mia Member", "member": ["Hotline", "Desk"]}))
        rows = (HEADER
                + "g-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,+41 1\n"
                + "g-2,Hotline,mia,inbound,2026-11-24T08:00:00Z,,,+41 2\n"
                + "g-3,Hotline,leo,inbound,2026-11-25T08:00:00Z,,,\n"
                + "d-1,Desk,mia,inbound,2026-11-25T09:00:00Z,,,+41 3\n")
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=rows)

    def terminal(self, *args):
        return Terminal([BINARY, "--as", "mia", "session", "conclude", *args], self.sandbox.environment())

    def test_a_full_guided_conclusion(self):
        term = self.terminal()
        screen = term.expect("Session [1-2, Enter to cancel]: ")
        self.assertLess(screen.index("g-2"), screen.index("g-1"))  # newest first
        self.assertNotIn("g-3", screen)  # only the caller's own sessions
        self.assertNotIn("d-1", screen)  # only sessions that can be concluded
        # A table: the call, whether it is still on, and who called.
        lines = [line.rstrip() for line in screen.replace("\r", "").splitlines()]
        header = next(line for line in lines if "SESSION" in line)
        for column in ("#", "SESSION", "SERVICE", "STARTED", "ENDED", "CALLER"):
            self.assertIn(column, header)
        g2 = next(line for line in lines if "g-2" in line)
        g1 = next(line for line in lines if "g-1" in line)
        self.assertIn("active", g2)
        self.assertIn("+41 2", g2)
        self.assertIn("2026-11-20T08:05:00Z", g1)
        self.assertEqual(g1.index("g-1"), g2.index("g-2"))  # aligned
        self.assertEqual(g1.index("+41 1"), g2.index("+41 2"))
        term.answer("7")  # out of range: asked again
        term.expect("Please give one number from 1 to 2.")
        term.answer("1")  # g-2, the newest
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertIn("1  Sale - The customer bought", screen)
        self.assertLess(screen.index("Sale"), screen.index("No sale"))  # the service's order
        term.answer("1")
        term.expect("Secondary codes (numbers, e.g. 1 3; Enter to skip): ")
        term.answer("2 1")
        term.expect("Tags (comma-separated; Enter for none): ")
        term.answer(" VIP , callback ")
        screen = term.expect("Conclude? [y/N] ")
        self.assertIn("primary:   Sale", screen)
        self.assertIn("secondary: Rückruf, Upsell", screen)
        self.assertIn("tags:      VIP, callback", screen)
        self.assertIn("cannot be changed", screen)
        term.answer("y")
        self.assertEqual(term.wait(), 0, term.screen)
        shown = self.json_ok("session", "show", "g-1")
        self.assertFalse(shown["concluded"])
        shown = self.json_ok("session", "show", "g-2")
        self.assertEqual([c["name"] for c in shown["codes"]], ["Sale", "Rückruf", "Upsell"])
        self.assertEqual(shown["tags"], ["VIP", "callback"])

    def test_an_empty_answer_at_the_confirmation_writes_nothing(self):
        term = self.terminal("g-1")  # an id but no codes: the codes are asked for
        term.expect("Primary codes")
        term.answer("2")
        term.expect("Secondary codes")
        term.answer("")
        term.expect("Tags")
        term.answer("")
        term.expect("Conclude? [y/N] ")
        term.answer("")
        self.assertEqual(term.wait(), 130, term.screen)
        self.assertIn("not confirmed; nothing was written", term.screen)
        self.assertFalse(self.json_ok("session", "show", "g-1")["concluded"])
        self.assertEqual(self.json_ok("audit", "list")[-1]["action"], "session.import")

    def test_ctrl_c_says_so_and_ends_by_the_signal(self):
        term = self.terminal()
        term.expect("Session [1-2, Enter to cancel]: ")
        term.answer("1")
        term.expect("Primary codes")
        term.type("\x03")  # Ctrl-C
        self.assertEqual(term.wait(), -signal.SIGINT, term.screen)  # a shell reports 130
        self.assertIn("cancelled; nothing was written", term.screen)
        for session in ("g-1", "g-2"):
            self.assertFalse(self.json_ok("session", "show", session)["concluded"])

    def test_enter_at_the_first_question_or_the_end_of_input_cancels_with_130(self):
        term = self.terminal()
        term.expect("Session [1-2, Enter to cancel]: ")
        term.answer("")
        self.assertEqual(term.wait(), 130, term.screen)
        self.assertIn("cancelled; nothing was written", term.screen)
        term = self.terminal("g-2")
        term.expect("Primary codes")
        term.type("\x04")  # Ctrl-D: the end of input
        self.assertEqual(term.wait(), 130, term.screen)
        self.assertIn("cancelled; nothing was written", term.screen)
        self.assertFalse(self.json_ok("session", "show", "g-2")["concluded"])
        self.assertEqual(self.json_ok("audit", "list")[-1]["action"], "session.import")

    def test_nothing_chosen_writes_nothing(self):
        term = self.terminal("g-2")
        for prompt in ("Primary codes", "Secondary codes", "Tags"):
            term.expect(prompt)
            term.answer("")
        self.assertEqual(term.wait(), 130, term.screen)
        self.assertIn("no code or tag chosen; nothing was written", term.screen)
        self.assertFalse(self.json_ok("session", "show", "g-2")["concluded"])

    def test_the_confirmation_shows_exactly_what_is_stored(self):
        term = self.terminal("g-2")
        term.expect("Primary codes")
        term.answer("")
        term.expect("Secondary codes")
        term.answer("")
        term.expect("Tags")
        term.answer("Rückruf   morgen, vip , VIP,, " + "x" * 60)  # one too long: asked again
        term.expect("please give the tags again")
        term.answer("Rückruf   morgen, vip , VIP,")
        screen = term.expect("Conclude? [y/N] ")
        self.assertIn("tags:      Rückruf morgen, vip\r\n", screen)
        term.answer("y")
        self.assertEqual(term.wait(), 0, term.screen)
        self.assertEqual(self.json_ok("session", "show", "g-2")["tags"], ["Rückruf morgen", "vip"])

    def test_a_session_that_cannot_be_concluded_says_why_before_any_question(self):
        self.run_ok("session", "conclude", "g-1", "--primary", "Sale", "--as", "mia")
        for session, code, why in (("d-1", 69, 'codes and tags are not enabled for service "Desk"'),
                                   ("g-1", 4, 'session "g-1" was concluded by mia'),
                                   ("g-3", 3, 'session "g-3" does not exist')):  # leo's: out of her reach
            term = self.terminal(session)
            self.assertEqual(term.wait(), code, term.screen)
            self.assertIn(why, term.screen)
            self.assertNotIn("codes (numbers", term.screen)

    def test_an_id_in_two_services_is_picked_from_the_menu_or_named_service_slash_id(self):
        for command in (("service", "create", "Line2", "--ou", "Contoso/Sales", "--license", "contact-center"),
                        ("service", "apply", "Line2", "--primary", "No sale"),
                        ("extension", "enable", "Line2", "codes-and-tags")):
            self.run_ok(*command)
        self.sandbox.write_identity(dict(CAST, leo={"name": "Leo Agent", "member": ["Hotline"]},
                                         mia={"name": "Mia Member", "member": ["Hotline", "Desk", "Line2"]}))
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin=HEADER + "g-2,Line2,mia,inbound,2026-11-25T10:00:00Z,,,+41 9\n")
        # The bare id names two of her sessions: refused before any question.
        term = self.terminal("g-2")
        self.assertEqual(term.wait(), 64, term.screen)
        self.assertIn("Hotline/g-2, Line2/g-2", term.screen)
        self.assertNotIn("codes (numbers", term.screen)
        # The menu shows each by its plain id beside its service.
        term = self.terminal()
        screen = term.expect("Session [1-3, Enter to cancel]: ")
        rows = [line for line in screen.replace("\r", "").splitlines() if "g-2" in line]
        self.assertEqual(len(rows), 2)
        self.assertIn("Line2", rows[0])  # the newest
        self.assertNotIn("/g-2", screen)
        term.answer("1")
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertIn("Primary codes of Line2", screen)
        term.answer("1")
        term.expect("Tags")  # Line2 offers no secondary codes
        term.answer("")
        screen = term.expect("Conclude? [y/N] ")
        self.assertIn("Conclude session g-2 (Line2):", screen)
        term.answer("y")
        self.assertEqual(term.wait(), 0, term.screen)
        self.assertEqual(self.json_ok("session", "show", "Line2/g-2")["codes"][0]["name"], "No sale")
        self.assertFalse(self.json_ok("session", "show", "Hotline/g-2")["concluded"])
        # Named SERVICE/ID, it is guided like any other.
        term = self.terminal("Hotline/g-2")
        term.expect("Primary codes of Hotline")
        term.answer("1")
        term.expect("Secondary codes")
        term.answer("")
        term.expect("Tags")
        term.answer("")
        screen = term.expect("Conclude? [y/N] ")
        self.assertIn("Conclude session g-2 (Hotline):", screen)
        term.answer("y")
        self.assertEqual(term.wait(), 0, term.screen)
        self.assertEqual(self.json_ok("session", "show", "Hotline/g-2")["codes"][0]["name"], "Sale")

    def test_import_shows_progress_on_a_terminal_only(self):
        path = os.path.join(self.sandbox.dir, "many.csv")
        with open(path, "w") as f:
            f.write(HEADER)
            for i in range(25_000):
                f.write(f"p-{i},Hotline,mia,inbound,2026-11-01T08:00:00Z,2026-11-01T08:05:00Z,accepted,\n")
        term = Terminal([BINARY, "session", "import", path], self.sandbox.environment())
        self.assertEqual(term.wait(), 0, term.screen)
        self.assertIn("10000 rows, ", term.screen)
        self.assertIn("rows/s, 4", term.screen)  # 10,000 of 25,000 rows: about 40% of the file
        quiet = Terminal([BINARY, "session", "import", path, "--quiet"], self.sandbox.environment())
        self.assertEqual(quiet.wait(), 0, quiet.screen)
        self.assertNotIn("rows/s", quiet.screen)
        piped = self.run_ok("session", "import", path)
        self.assertNotIn("rows/s", piped.err)

    def test_without_a_terminal_it_never_asks(self):
        self.assert_fails(64, "--as", "mia", "session", "conclude", stdin="1\n", stderr="missing: the session id")
        self.assert_fails(64, "--as", "mia", "session", "conclude", "g-2", stdin="1\n",
                          stderr="missing: at least one --primary, --secondary or --tag")


if __name__ == "__main__":
    main()
