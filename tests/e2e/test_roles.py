"""docs/roles.md shows the role table of lib/nimbus/identity/policy.cpp exactly as
`nimbus-codes __roles` prints it, so that the page cannot drift from the rules
the program applies.

NIMBUS_UPDATE_GOLDEN=1 rewrites the page's table from the program's."""

import os

from harness import NimbusTestCase, ROOT, main

PAGE = os.path.join(ROOT, "docs", "roles.md")
HEADER = "| commands | allowed | scope |"


def page_table(text):
    """The page's role table (its header line to the last line of the table) and where it is."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == HEADER)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[start:end]), "".join(lines[:start]), "".join(lines[end:])


class RolesPageTest(NimbusTestCase):
    def test_the_page_shows_the_programs_role_table(self):
        # It needs neither a store nor an identity file.
        printed = self.run_ok("__roles", env={"NIMBUS_CODES_STORE": "/nonexistent/store.db",
                                              "NIMBUS_CODES_IDENTITY": "/nonexistent/identity.toml"}).out
        self.assertTrue(printed.startswith(HEADER + "\n| --- | --- | --- |\n"), printed)
        with open(PAGE, encoding="utf-8") as f:
            text = f.read()
        table, before, after = page_table(text)
        if os.environ.get("NIMBUS_UPDATE_GOLDEN") == "1" and table != printed:
            with open(PAGE, "w", encoding="utf-8") as f:
                f.write(before + printed + after)
            table = printed
        self.assertEqual(table, printed,
                         "docs/roles.md differs from 'nimbus-codes __roles' "
                         "(NIMBUS_UPDATE_GOLDEN=1 rewrites the page's table)")


if __name__ == "__main__":
    main()
