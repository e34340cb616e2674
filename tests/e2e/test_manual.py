"""The manual pages: lint-clean, complete, and installed with the completions."""

import gzip
import os
import re
import subprocess
import tempfile

from harness import NimbusTestCase, ROOT, main

DOCS = os.path.join(ROOT, "docs")
PAGES = ("nimbus-codes.1", "nimbus-codes-identity.5", "nimbus-codes-setup-shared-host.8")


class ManualTest(NimbusTestCase):
    def test_pages_are_lint_clean(self):
        for page in PAGES:
            completed = subprocess.run(["mandoc", "-Tlint", os.path.join(DOCS, page)],
                                       capture_output=True, text=True)
            # The pages refer to each other and to dpkg-statoverride, none of them
            # installed on the test machine; the system's man index may be stale.
            # Nothing else may be said.
            elsewhere = r"Xr (nimbus-codes(-identity)? [15]|dpkg-statoverride 1)"
            problems = [line for line in (completed.stdout + completed.stderr).splitlines()
                        if "mandoc.db" not in line
                        and not re.search("referenced manual not found: " + elsewhere, line)]
            self.assertEqual(problems, [], page)

    def commands(self, path=()):
        """Every command path and its long options, from the program's own help."""
        text = self.run_ok("help", *path).out
        options = set(re.findall(r"^\s+(?:-\w,)?--([\w-]+)", text, re.M))
        found = [(path, options)]
        if "Subcommands:" in text:
            for line in text.split("Subcommands:")[1].splitlines():
                match = re.match(r"^  ([a-z][\w-]*)\s", line)
                if match:
                    found += self.commands(path + (match.group(1),))
        return found

    def test_every_command_and_option_is_in_the_manual(self):
        with open(os.path.join(DOCS, "nimbus-codes.1"), encoding="utf-8") as f:
            page = f.read()
        commands = self.commands()
        self.assertGreater(len(commands), 30)
        for path, options in commands:
            if path:
                self.assertIn("Cm " + " ".join(path), page, path)
            for option in options - {"help"}:
                self.assertIn("Fl -" + option, page, (path, option))

    def test_installed_where_man_and_the_shells_look(self):
        build = os.environ.get("NIMBUS_BUILD_DIR")
        self.assertTrue(build, "NIMBUS_BUILD_DIR is not set")
        with tempfile.TemporaryDirectory() as prefix:
            subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                           capture_output=True)
            for path in ("bin/nimbus-codes", "share/bash-completion/completions/nimbus-codes",
                         "share/zsh/vendor-completions/_nimbus-codes",
                         "share/fish/vendor_completions.d/nimbus-codes.fish",
                         "share/doc/nimbus-codes/copyright", "share/doc/nimbus-codes/examples"):
                self.assertTrue(os.path.exists(os.path.join(prefix, path)), path)
            # The pages compressed as Debian keeps them: man reads them as they are.
            for page in PAGES:
                section = "man" + page[-1]
                with gzip.open(os.path.join(prefix, "share/man", section, page + ".gz")) as installed, \
                        open(os.path.join(DOCS, page), "rb") as source:
                    self.assertEqual(installed.read(), source.read(), page)


if __name__ == "__main__":
    main()
