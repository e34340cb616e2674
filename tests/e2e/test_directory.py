"""Caller information: the caller directory, and who is calling where a service shows it."""

import json
import os
import sqlite3

from harness import BINARY, CAST, POSTGRESQL, ROLLUPS_DROPPED, SCHEMA_VERSION, NimbusTestCase, main
from test_guided import Terminal

DIRECTORY = (
    "number,name,company,email,notes,crm_id\n"
    "+41 44 668 18 00,Anna Muster,Muster AG,anna@muster.ch,Prefers German,C-1\n"
    "044 668 18 01,Beat Beispiel,,,,C-2\n"
    "0041 79 123 45 67,,Kiosk GmbH,,\"Two\nlines\",\n"
)
SESSIONS = (
    "id,service,user,direction,started_at,ended_at,outcome,caller\n"
    "h-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,0446681800\n"
    "h-2,Hotline,mia,inbound,2026-11-24T08:00:00Z,,,+41 79 999 99 99\n"
    "h-3,Hotline,mia,inbound,2026-11-25T08:00:00Z,,,\n"
    "d-1,Desk,mia,inbound,2026-11-25T09:00:00Z,,,+41 44 668 18 00\n"
)


class DirectoryTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.sandbox.write_identity(dict(CAST, mia={"name": "Mia Member", "member": ["Hotline", "Desk"]}))
        self.init_hotline()
        self.run_ok("service", "create", "Desk", "--ou", "Contoso", "--license", "contact-center")
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=SESSIONS)

    def import_directory(self, text, *args, name="callers.csv"):
        return self.run_cli("directory", "import", self.write(name, text), *args)

    def numbers(self, *args):
        return [entry["number"] for entry in self.json_ok("directory", "list", *args)]

    # The directory itself.

    def test_numbers_are_kept_in_one_form_however_written(self):
        result = self.import_directory(DIRECTORY, "--country", "ch", "--format", "json")
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(result.json(), {"ou": "Contoso", "country": "CH", "entries": 3, "added": 3,
                                         "changed": 0, "removed": 0, "unchanged": 0})
        self.assertIn("directory of Contoso: 3 callers; 3 added", result.err)
        self.assertEqual(self.numbers(), ["+41446681800", "+41446681801", "+41791234567"])
        anna = self.json_ok("directory", "show", "044 668 18 00")
        self.assertEqual(anna, {"ou": "Contoso", "number": "+41446681800", "name": "Anna Muster",
                                "company": "Muster AG", "email": "anna@muster.ch",
                                "notes": "Prefers German", "attributes": {"crm_id": "C-1"}})
        for written in ("+41446681800", "+41 (0)44 668 18 00", "0041446681800", "0446681800"):
            self.assertEqual(self.json_ok("directory", "show", written)["name"], "Anna Muster", written)
        kiosk = self.json_ok("directory", "show", "079 123 45 67")
        self.assertEqual((kiosk["name"], kiosk["company"], kiosk["notes"], kiosk["attributes"]),
                         ("", "Kiosk GmbH", "Two\nlines", {}))
        self.assert_fails(3, "directory", "show", "+41 44 000 00 00", stderr="no caller with number")
        self.assert_fails(65, "directory", "show", "not a number", stderr="is not a phone number")
        # A number one directory reads and another does not: not found, not invalid.
        self.run_ok("directory", "import", self.write("us.csv", "number,name\n+1 650 253 0000,Grace\n"),
                    "--ou", "Contoso/Sales", "--country", "US")
        self.assert_fails(3, "directory", "show", "044 668 18 99", stderr="no caller with number")

    def test_json_lines_keep_further_fields_as_attributes(self):
        lines = ('{"number": "+1 650 253 0000", "name": "Grace", "tier": 2, "vip": true, '
                 '"crm": {"id": "X-9", "owner": "sam"}, "gone": null}\n')
        self.run_ok("directory", "import", self.write("c.jsonl", lines), "--country", "US")
        entry = self.json_ok("directory", "show", "(650) 253-0000")
        self.assertEqual(entry["attributes"], {"tier": "2", "vip": "true", "crm.id": "X-9", "crm.owner": "sam"})
        self.assertEqual(list(entry["attributes"]), ["tier", "vip", "crm.id", "crm.owner"])

    def test_an_import_replaces_the_directory_whole_and_is_audited(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        changed = ("number,name,company,email,notes,crm_id\n"
                   "+41446681800,Anna Muster,Muster AG,anna@muster.ch,Prefers German,C-1\n"
                   "+41 44 668 18 01,Beat Beispiel,Beispiel & Co,,,C-2\n"
                   "+49 30 1234567,Carla,,,,\n")
        result = self.import_directory(changed, "--format", "json")  # the country is kept
        self.assertEqual(result.code, 0, repr(result))
        self.assertEqual(result.json(), {"ou": "Contoso", "country": "CH", "entries": 3, "added": 1,
                                         "changed": 1, "removed": 1, "unchanged": 1})
        self.assertEqual(self.numbers(), ["+41446681800", "+41446681801", "+49301234567"])
        self.assertEqual(self.json_ok("directory", "show", "0446681801")["company"], "Beispiel & Co")
        records = [e for e in self.json_ok("audit", "list") if e["action"] == "directory.import"]
        self.assertEqual(len(records), 2)
        self.assertEqual(records[1]["target"], "directory of Contoso")
        self.assertEqual(records[1]["before"], {"entries": 3, "country": "CH"})
        self.assertEqual(records[1]["after"]["removed"], 1)

    def test_a_bad_file_changes_nothing(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        before = self.sandbox.dump()
        bad = ("number,name,company,email,notes\n"
               "+41 44 668 18 00,Anna,,,\n"
               "12,Too Short,,,\n"
               "hello,Not A Number,,,\n"
               "0446681800,Anna Again,,,\n"
               "+41 44 668 18 09,,,,\n"
               "+41 44 668 18 08,Ann,,no-at-sign,\n"
               "+41 44 668 18 07,A\x1b[31mnsi,,,\n")
        result = self.import_directory(bad, name="bad.csv")
        self.assertEqual(result.code, 65, repr(result))
        path = os.path.join(self.sandbox.dir, "bad.csv")
        for line, reason in ((3, 'number "12" is too short'), (4, 'number "hello" is not a phone number'),
                             (5, "caller +41446681800 is already on line 2"),
                             (6, "caller +41446681809 has neither a name nor a company"), (7, 'email "no-at-sign" is not an e-mail address'),
                             (8, '"name" contains a control character')):
            self.assertIn(f"{path}:{line}: {reason}", result.err)
        self.assertIn("6 rows are invalid; the directory of Contoso is unchanged", result.err)
        self.assertEqual(result.out, "")
        twice = '{"number": "+41 44 668 18 00", "name": "Anna", "crm": "1", " crm": "2"}\n'
        result = self.import_directory(twice, name="twice.jsonl")
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn('twice.jsonl:1: attribute "crm" is given twice', result.err)
        result = self.import_directory(b"number,name\n+41 44 668 18 00,Ann\xe9\n", name="latin1.csv")
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn("latin1.csv:2: a field", result.err)
        self.assert_fails(65, "directory", "import", self.write("empty.csv", "number,name\n"),
                          stderr="holds no callers")
        self.assert_fails(65, "directory", "import", self.write("x.csv", DIRECTORY), "--country", "XX",
                          stderr='"XX" is not a country code')
        self.assertEqual(self.sandbox.dump(), before)

    def test_a_new_directory_needs_a_country_for_national_numbers(self):
        result = self.import_directory(DIRECTORY)
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn('number "044 668 18 01" is a national number, and no country is known to read it in: '
                      "give the country of national numbers, e.g. --country CH", result.err)
        international = "number,name\n+41 44 668 18 00,Anna\n"
        self.assert_fails(65, "directory", "import", self.write("i.csv", international),
                          stderr="the directory of Contoso has no country yet")
        self.assertEqual(self.sandbox.count("SELECT count(*) FROM directory"), 0)

    def test_remove_callers_or_the_whole_directory(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        before = self.sandbox.dump()
        self.assert_fails(3, "directory", "remove", "044 668 18 01", "+41 44 000 00 00",
                          stderr="no caller +41440000000 in the directory of Contoso; nothing was removed")
        self.assertEqual(self.sandbox.dump(), before)
        self.assert_fails(64, "directory", "remove", stderr="name the numbers to remove, or --all")
        removed = self.json_ok("directory", "remove", "044 668 18 01", "+41446681801")
        self.assertEqual(removed, [{"ou": "Contoso", "number": "+41446681801"}])
        self.assertEqual(self.numbers(), ["+41446681800", "+41791234567"])
        self.run_ok("directory", "remove", "--all")
        self.assertEqual(self.numbers(), [])
        self.assertEqual(self.audit_actions()[-2:], ["directory.remove", "directory.remove"])
        self.assert_fails(3, "directory", "remove", "--all", stderr="Contoso has no directory")

    def test_who_may_manage_and_read_directories(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        sales = "number,name\n+41 44 668 18 00,Sales' Anna\n"
        for login in ("mia", "olga", "sue"):
            self.assert_fails(77, "directory", "list", "--as", login)
            self.assert_fails(77, "directory", "show", "0446681800", "--as", login)
            self.assert_fails(77, "directory", "import", self.write("s.csv", sales), "--ou", "Contoso/Sales",
                              "--as", login)
        # An OU admin: their subtree's directories, not the tenant's.
        self.assert_fails(77, "directory", "import", self.write("s.csv", sales), "--as", "sam")
        self.assert_fails(77, "directory", "remove", "--all", "--as", "sam")
        self.run_ok("directory", "import", self.write("s.csv", sales), "--ou", "contoso/sales",
                    "--country", "CH", "--as", "sam")
        self.assertEqual([(e["ou"], e["name"]) for e in self.json_ok("directory", "list", "--as", "sam")],
                         [("Contoso/Sales", "Sales' Anna")])
        self.assertEqual(len(self.json_ok("directory", "show", "0446681800")), 2)  # both OUs', for an admin
        self.assert_fails(77, "directory", "list", "--ou", "Contoso", "--as", "sam")

    # Who is calling, in My Sessions.

    def test_nothing_from_the_directory_appears_where_caller_information_is_off(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        listed = self.json_ok("session", "list", "--as", "mia")
        self.assertTrue(all("directory" not in s for s in listed))
        table = self.run_ok("session", "list", "--as", "mia").out
        self.assertNotIn("CALLER NAME", table)
        self.assertNotIn("Anna", table)
        shown = self.json_ok("session", "show", "h-1", "--as", "mia")
        self.assertNotIn("directory", shown)
        self.assertNotIn("Anna", self.run_ok("session", "show", "h-1", "--as", "mia").out)

    def test_agents_see_who_is_calling_where_caller_information_is_on(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        listed = {s["id"]: s for s in self.json_ok("session", "list", "--as", "mia")}
        self.assertEqual(listed["h-1"]["directory"]["name"], "Anna Muster")
        self.assertEqual(listed["h-1"]["directory"]["attributes"], {"crm_id": "C-1"})
        self.assertEqual(listed["h-2"]["directory"], {})  # a number the directory lacks
        self.assertEqual(listed["h-3"]["directory"], {})  # no number at all
        self.assertIsNone(listed["d-1"]["directory"])  # Desk does not show callers
        lines = self.run_ok("session", "list", "--as", "mia").out.splitlines()
        self.assertIn("CALLER NAME", lines[0])
        row = {line.split()[0]: line for line in lines[1:]}
        self.assertIn("Anna Muster, Muster AG", row["h-1"])
        self.assertIn("(not in the directory)", row["h-2"])
        self.assertIn("(no number)", row["h-3"])
        self.assertNotIn("Anna", row["d-1"])
        shown = self.run_ok("session", "show", "h-1", "--as", "mia").out
        for line in ("CALLER NAME      Anna Muster, Muster AG", "EMAIL            anna@muster.ch",
                     "NOTES            Prefers German"):
            self.assertIn(line, shown)
        csv_out = self.run_ok("session", "list", "--as", "mia", "--format", "csv").out
        self.assertIn("directory", csv_out.splitlines()[0])

    def test_the_nearest_directory_answers(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        self.run_ok("directory", "import", self.write("s.csv", "number,name\n044 668 18 00,Sales' Anna\n"),
                    "--ou", "Contoso/Sales", "--country", "CH")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        self.run_ok("extension", "enable", "Desk", "caller-information")
        listed = {s["id"]: s["directory"] for s in self.json_ok("session", "list")}
        self.assertEqual(listed["h-1"]["name"], "Sales' Anna")  # Hotline is in Contoso/Sales
        self.assertEqual(listed["d-1"]["name"], "Anna Muster")  # Desk is in Contoso
        self.run_ok("directory", "remove", "--all", "--ou", "Contoso/Sales")
        self.assertEqual(self.json_ok("session", "show", "h-1")["directory"]["name"], "Anna Muster")

    def test_sessions_imported_after_the_directory_show_their_callers(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        self.run_ok("session", "import", "-", "--input-format", "csv",
                    stdin=SESSIONS.splitlines()[0] + "\nh-4,Hotline,mia,inbound,2026-11-26T08:00:00Z,,,"
                          "044 668 18 01\n")
        self.run_ok("session", "add", "--id", "h-5", "--service", "Hotline", "--user", "mia",
                    "--started-at", "2026-11-26T09:00:00Z", "--caller", "0041 79 123 45 67")
        listed = {s["id"]: s["directory"] for s in self.json_ok("session", "list", "--as", "mia")}
        self.assertEqual(listed["h-4"]["name"], "Beat Beispiel")
        self.assertEqual(listed["h-5"]["company"], "Kiosk GmbH")

    def test_each_directory_reads_national_numbers_in_its_country(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        # Sales' directory is German: there, 0446681800 is +49446681800.
        self.run_ok("directory", "import", self.write("de.csv", "number,name\n0446681800,Berlin Anna\n"),
                    "--ou", "Contoso/Sales", "--country", "DE")
        self.assertEqual(self.numbers("--ou", "Contoso/Sales"), ["+49446681800"])
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        self.run_ok("extension", "enable", "Desk", "caller-information")
        self.run_ok("session", "add", "--id", "h-5", "--service", "Hotline", "--user", "mia",
                    "--started-at", "2026-11-26T09:00:00Z", "--caller", "+41 44 668 18 00")
        listed = {s["id"]: s["directory"] for s in self.json_ok("session", "list")}
        self.assertEqual(listed["h-1"]["name"], "Berlin Anna")  # 0446681800, read in Germany first
        self.assertEqual(listed["h-5"]["name"], "Anna Muster")  # not in Sales': the tenant's
        self.assertEqual(listed["d-1"]["name"], "Anna Muster")  # Desk is in Contoso
        # The tenant's directory moves to Germany: its national forms are read there.
        self.run_ok("session", "add", "--id", "d-2", "--service", "Desk", "--user", "mia",
                    "--started-at", "2026-11-26T10:00:00Z", "--caller", "0446681800")
        self.assertEqual(self.json_ok("session", "show", "d-2")["directory"]["name"], "Anna Muster")
        self.import_directory("number,name\n0446681800,Anna Berlin\n+41 44 668 18 00,Anna Muster\n",
                              "--country", "DE")
        listed = {s["id"]: s["directory"] for s in self.json_ok("session", "list")}
        self.assertEqual(listed["d-2"]["name"], "Anna Berlin")
        self.assertEqual(listed["d-1"]["name"], "Anna Muster")

    def test_a_store_from_before_schema_13_reads_its_callers_at_init(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        # As a store of schema 12 was: its sessions' callers as written only
        # (and without schema 14's after-call work and 15's retirements).
        downgrade = ("DROP TABLE conclusion_default; DROP TABLE service_wrap_up; "
                     "DROP VIEW session_caller; DROP VIEW directory_country; DROP TABLE caller_number; ")
        if self.sandbox.database():
            retirements = ("DROP POLICY ou_remove ON ou; DROP POLICY service_remove ON service; "
                           "DROP FUNCTION session_of_retired_service(), nimbus_used_no_delete() CASCADE; "
                           "DROP FUNCTION nimbus_changed_since_creation(text, text); "
                           "DROP TABLE ou_retired, service_retired; ")
            POSTGRESQL.psql(ROLLUPS_DROPPED["postgresql"] + retirements + downgrade + "DROP FUNCTION conclusion_default_with_its_conclusion(); "
                            "UPDATE nimbus_codes_store SET schema_version = 12", self.sandbox.database())
        else:
            retirements = ("DROP TRIGGER session_of_retired_service; DROP TRIGGER ou_used_no_delete; "
                           "DROP TRIGGER service_used_no_delete; DROP TABLE ou_retired; "
                           "DROP TABLE service_retired; ")
            with sqlite3.connect(self.sandbox.store, isolation_level=None) as db:
                db.executescript(ROLLUPS_DROPPED["sqlite"] + retirements + downgrade + "PRAGMA user_version = 12")
        self.assert_fails(78, "session", "list", stderr="has schema version 12")
        self.assertIn(f"from schema 12 to {SCHEMA_VERSION}", self.run_ok("init").err)
        self.assertEqual(self.json_ok("session", "show", "h-1", "--as", "mia")["directory"]["name"],
                         "Anna Muster")

    def test_the_guided_conclusion_says_who_is_calling(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        self.run_ok("extension", "enable", "Hotline", "caller-information")
        term = Terminal([BINARY, "--as", "mia", "session", "conclude"], self.sandbox.environment())
        screen = term.expect("Session [1-3, Enter to cancel]: ")
        lines = [line for line in screen.replace("\r", "").splitlines()]
        self.assertIn("WHO", next(line for line in lines if "SESSION" in line))
        self.assertIn("Anna Muster, Muster AG", next(line for line in lines if "h-1" in line))
        term.answer("3")  # h-1, the oldest
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertIn("Caller: 0446681800 Anna Muster, Muster AG", screen)
        term.type("\x04")
        self.assertEqual(term.wait(), 130, term.screen)

    def test_a_copied_store_keeps_its_directories(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        listed = self.json_ok("directory", "list")
        copy = self.sandbox.new_store("copy.db")
        self.run_ok("store", "copy", "--from", self.sandbox.store, "--to", copy)
        self.sandbox.use_store(copy)
        self.assertEqual(self.json_ok("directory", "list"), listed)

    def test_raw_sql_cannot_store_a_number_in_another_form(self):
        self.import_directory(DIRECTORY, "--country", "CH")
        ou = self.sandbox.rows("SELECT ou_id FROM directory")[0][0]
        for number in ("0446681800", "+41 44 668 18 00", "+0446681800", "+4144668180012345"):
            self.assertTrue(self.sandbox.refuses(
                "INSERT INTO directory_entry (ou_id, number, name, company, email, notes, attributes) "
                f"VALUES ({ou}, '{number}', 'x', '', '', '', '{{}}')"), number)
        self.assertTrue(self.sandbox.refuses(
            "INSERT INTO directory_entry (ou_id, number, name, company, email, notes, attributes) "
            f"VALUES ({ou}, '+41446681899', 'x', '', '', '', '[1]')"))


if __name__ == "__main__":
    main()
