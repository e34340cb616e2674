"""Conversation context: fields defined in configuration, values imported with sessions, shown
where a service enables it, reported and exported."""

import csv
import io
import json
import os

from harness import BINARY, NimbusTestCase, main
from test_guided import Terminal

CONFIG = """tenant = "Contoso"

[[context]]
name = "Reason"
type = "choice"
values = ["Billing", "Technical", "Other"]
description = "Why the customer called, as the IVR asked"

[[context]]
name = "Account"
ou = "Contoso/Sales"
type = "number"

[[context]]
name = "Due"
ou = "Contoso/Sales"
type = "date"

[[context]]
name = "Note"
type = "text"
"""

SESSIONS = (
    "id,service,user,direction,started_at,ended_at,outcome,caller,context.Reason,context.Account,context.Due\n"
    "c-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,,billing,42,2026-12-01\n"
    "c-2,Hotline,mia,inbound,2026-11-21T08:00:00Z,2026-11-21T08:05:00Z,accepted,,Technical,,\n"
    "c-3,Hotline,mia,inbound,2026-11-22T08:00:00Z,,,,,,\n"
)


class ContextTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_hotline()
        self.apply(CONFIG)

    def apply(self, text, *args, expect=0):
        result = self.run_cli("config", "apply", self.write("context.toml", text), *args)
        self.assertEqual(result.code, expect, repr(result))
        return result

    def import_sessions(self, text, name="calls.csv"):
        return self.run_cli("session", "import", self.write(name, text))

    def stored(self):
        return self.sandbox.dump_but_sequences()

    def listed(self, *args):
        return {s["id"]: s for s in self.json_ok("session", "list", *args)}

    # Definitions, through configuration as code.

    def test_fields_are_defined_exported_and_planned_as_code(self):
        exported = self.run_ok("config", "export").out
        for block in ('[[context]]\nname = "Reason"\nou = "Contoso"\ntype = "choice"\n'
                      'values = ["Billing", "Technical", "Other"]\n'
                      'description = "Why the customer called, as the IVR asked"\n',
                      '[[context]]\nname = "Account"\nou = "Contoso/Sales"\ntype = "number"\n'):
            self.assertIn(block, exported)
        # The export applies as a no-op, and again gives the same text.
        plan = self.run_ok("config", "plan", self.write("export.toml", exported))
        self.assertEqual(plan.out, "")
        changed = CONFIG.replace('"Other"]', '"Other", "Sales"]').replace('type = "date"', 'type = "text"')
        plan = self.run_ok("config", "plan", self.write("changed.toml", changed))
        self.assertIn('~ context "Reason" in Contoso (choice): values Billing, Technical, Other -> '
                      'Billing, Technical, Other, Sales', plan.out)
        self.assertIn('~ context "Due" in Contoso/Sales (text): type date -> text', plan.out)
        self.apply(changed)
        self.assertEqual(self.run_ok("config", "plan", self.write("changed.toml", changed)).out, "")
        actions = self.audit_actions()
        self.assertEqual(actions.count("context.define"), 4)
        self.assertEqual(actions.count("context.change"), 2)

    def test_the_context_commands_define_list_and_remove(self):
        result = self.run_ok("context", "define", "Channel", "--type", "choice", "--values", "Web,Phone",
                             "--ou", "Contoso/Sales", "--description", "Where the customer came from")
        self.assertIn('defined context field "Channel" in Contoso/Sales', result.err)
        result = self.run_ok("context", "define", "channel", "--type", "choice", "--values", "Web,Phone,Shop",
                             "--ou", "Contoso/Sales", "--description", "Where the customer came from")
        self.assertIn("values Web, Phone -> Web, Phone, Shop", result.err)
        fields = {f["name"]: f for f in self.json_ok("--as", "olga", "context", "list", "--service", "Hotline")}
        self.assertEqual(sorted(fields), ["Account", "Due", "Note", "Reason", "channel"])
        self.assertEqual(fields["channel"]["values"], ["Web", "Phone", "Shop"])
        self.assert_fails(77, "--as", "mia", "context", "list", stderr="may not read the code catalogue")
        self.assert_fails(77, "--as", "olga", "context", "define", "X", "--type", "text",
                          stderr="may not define conversation context")
        self.run_ok("--as", "sam", "context", "remove", "channel", "--ou", "Contoso/Sales")
        self.assert_fails(3, "context", "remove", "channel", "--ou", "Contoso/Sales",
                          stderr='no context field "channel" is defined in Contoso/Sales')
        self.import_sessions(SESSIONS)
        self.assert_fails(4, "context", "remove", "Account", "--ou", "Contoso/Sales",
                          stderr="is carried by sessions")
        actions = self.audit_actions()
        self.assertEqual((actions.count("context.define"), actions.count("context.change"),
                          actions.count("context.remove")), (5, 1, 1))

    def test_a_used_choice_keeps_its_values_and_two_branches_each_have_their_own(self):
        self.import_sessions(SESSIONS)
        before = self.stored()
        self.assert_fails(4, "context", "define", "Reason", "--type", "choice", "--values", "BILLING,Technical,Other",
                          stderr='context field "Reason" keeps its value "Billing": sessions carry its values')
        result = self.apply(CONFIG.replace('"Billing", ', ""), expect=65)
        self.assertIn('keeps its value "Billing"', result.err)
        self.assertEqual(self.stored(), before)
        # Values may be added and reordered.
        self.run_ok("context", "define", "Reason", "--type", "choice", "--values", "Other,Billing,Technical,Sales")
        # One name on two branches: each service carries its own, and the export applies back.
        self.run_ok("ou", "create", "Contoso/Support")
        self.run_ok("context", "define", "Ticket", "--type", "text", "--ou", "Contoso/Sales")
        self.run_ok("context", "define", "Ticket", "--type", "number", "--ou", "Contoso/Support")
        exported = self.run_ok("config", "export").out
        self.assertEqual(self.run_ok("config", "plan", self.write("export.toml", exported)).out, "")
        # No raw statement gives a field another's name, nor renames it.
        for sql in ("UPDATE OR REPLACE context_field SET name_key = 'reason' WHERE name = 'Note'",
                    "UPDATE context_field SET name = 'Cause', name_key = 'cause' WHERE name = 'Reason'"):
            self.assertTrue(self.sandbox.refuses(sql), sql)

    def test_bad_definitions_are_refused_with_their_line(self):
        before = self.stored()
        for text, line, message in (
            ('tenant = "Contoso"\n[[context]]\nname = "X"\ntype = "colour"\n', 4,
             '"type" must be text, number, date or choice'),
            ('tenant = "Contoso"\n[[context]]\nname = "X"\ntype = "choice"\n', 2, 'choice field "X" needs its values'),
            ('tenant = "Contoso"\n[[context]]\nname = "X"\ntype = "text"\nvalues = ["a"]\n', 2,
             'only a choice field has values'),
            ('tenant = "Contoso"\n[[context]]\nname = "X"\ntype = "choice"\nvalues = ["a", "A"]\n', 2,
             'lists "A" twice'),
            ('tenant = "Contoso"\n[[context]]\nname = "a=b"\ntype = "text"\n', 2, 'contains "=" or ","'),
            ('tenant = "Contoso"\n[[context]]\nname = "a,b"\ntype = "text"\n', 2, 'contains "=" or ","'),
            # Reason is defined at Contoso; Sales below it would give Hotline two.
            ('tenant = "Contoso"\n[[context]]\nname = "reason"\nou = "Contoso/Sales"\ntype = "text"\n', 2,
             'context field "Reason" is already defined in Contoso'),
        ):
            result = self.apply(text, expect=65)
            self.assertIn(f"context.toml:{line}", result.err)
            self.assertIn(message, result.err)
        self.assertEqual(self.stored(), before)
        # Only admins of the field's OU define context.
        result = self.run_cli("--as", "olga", "config", "apply",
                              self.write("x.toml", 'tenant = "Contoso"\n[[context]]\nname = "Y"\n'
                                                   'ou = "Contoso/Sales"\ntype = "text"\n'))
        self.assertEqual(result.code, 77, repr(result))
        self.assertIn("may not define conversation context", result.err)

    def test_prune_removes_unused_fields_and_keeps_used_ones(self):
        self.run_ok("session", "import", self.write("calls.csv", SESSIONS))
        # Note is used by no session; Reason, Account and Due are.
        without_note = CONFIG.split('[[context]]\nname = "Note"')[0]
        plan = self.run_ok("config", "plan", self.write("p.toml", without_note), "--prune")
        self.assertIn('- context "Note" in Contoso (text)', plan.out)
        self.apply(without_note, "--prune")
        self.assertNotIn("Note", self.run_ok("config", "export").out)
        before = self.stored()
        result = self.apply(without_note.split('[[context]]\nname = "Due"')[0], "--prune", expect=65)
        self.assertIn('context field "Due" in Contoso/Sales is carried by sessions', result.err)
        result = self.apply(without_note.replace('type = "date"', 'type = "number"'), expect=65)
        self.assertIn('context field "Due" is of type date and sessions carry values of it', result.err)
        self.assertEqual(self.stored(), before)

    # Values, through the imports.

    def test_csv_and_json_lines_carry_values_checked_against_the_definitions(self):
        self.run_ok("extension", "enable", "Hotline", "conversation-context")
        result = self.import_sessions(SESSIONS)
        self.assertEqual(result.code, 0, repr(result))
        lines = ('{"id": "j-1", "service": "Hotline", "user": "mia", "direction": "inbound", '
                 '"started_at": "2026-11-23T08:00:00Z", "context": {"Reason": "Other", "Account": 7, '
                 '"Note": "asked for \\"Max\\""}}\n')
        self.assertEqual(self.import_sessions(lines, name="calls.jsonl").code, 0)
        sessions = self.listed()
        # A choice is kept in its defined spelling; empty cells carry nothing.
        self.assertEqual(sessions["c-1"]["context"], {"Reason": "Billing", "Account": "42", "Due": "2026-12-01"})
        self.assertEqual(sessions["c-2"]["context"], {"Reason": "Technical"})
        self.assertEqual(sessions["c-3"]["context"], {})
        self.assertEqual(sessions["j-1"]["context"], {"Reason": "Other", "Account": "7", "Note": 'asked for "Max"'})
        # Importing the same file again changes nothing; other values are a conflict.
        self.assertIn("0 new", self.import_sessions(SESSIONS).err)
        result = self.import_sessions(SESSIONS.replace("billing,42", "Other,42"))
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn('calls.csv:2: session "c-1" is stored with other call data (context)', result.err)
        # A service that carries none of the columns' fields takes rows whose cells are empty.
        self.run_ok("ou", "create", "Contoso/Support")
        self.run_ok("service", "create", "Desk", "--ou", "Contoso/Support", "--license", "contact-center")
        desk = SESSIONS.splitlines()[0] + "\nd-1,Desk,mia,inbound,2026-11-20T08:00:00Z,,,,,,\n"
        self.assertEqual(self.import_sessions(desk, name="desk.csv").code, 0)

    def test_a_wrong_value_or_an_undefined_field_is_refused_with_file_and_line(self):
        before = self.stored()
        header = "id,service,user,direction,started_at,context.Reason,context.Account,context.Due,context.Mood\n"
        bad = header + ("b-1,Hotline,mia,inbound,2026-11-20T08:00:00Z,Billing,4x2,,\n"
                        "b-2,Hotline,mia,inbound,2026-11-20T08:00:00Z,Refund,,,\n"
                        "b-3,Hotline,mia,inbound,2026-11-20T08:00:00Z,,,2026-02-30,\n"
                        "b-4,Hotline,mia,inbound,2026-11-20T08:00:00Z,,,,happy\n"
                        "b-5,Hotline,mia,inbound,2026-11-20T08:00:00Z,Billing,1,2026-01-01,\n"
                        "b-6,Hotline,mia,inbound,2026-11-20T08:00:00Z,,,-001-01-01,\n")
        result = self.import_sessions(bad, name="bad.csv")
        self.assertEqual(result.code, 65, repr(result))
        path = os.path.join(self.sandbox.dir, "bad.csv")
        for line, reason in ((2, 'context "Account" is a number, not "4x2"'),
                             (3, 'context "Reason" is one of Billing, Technical, Other, not "Refund"'),
                             (4, 'context "Due" is a date (YYYY-MM-DD), not "2026-02-30"'),
                             (5, 'context field "Mood" is not defined for service "Hotline"'),
                             (7, 'context "Due" is a date (YYYY-MM-DD), not "-001-01-01"')):
            self.assertIn(f"{path}:{line}: {reason}", result.err)
        lines = ('{"id": "j-1", "service": "Hotline", "user": "mia", "direction": "inbound", '
                 '"started_at": "2026-11-23T08:00:00Z", "context": "Billing"}\n'
                 '{"id": "j-2", "service": "Hotline", "user": "mia", "direction": "inbound", '
                 '"started_at": "2026-11-23T08:00:00Z", "context": {"Reason": ["Billing"]}}\n')
        result = self.import_sessions(lines, name="bad.jsonl")
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn('bad.jsonl:1: "context" must be an object of field names and values', result.err)
        self.assertIn('bad.jsonl:2: "context.Reason" must be a string, a number or true or false', result.err)
        self.assertEqual(self.stored(), before)
        # A field defined at another branch is not the service's.
        self.run_ok("ou", "create", "Contoso/Support")
        self.apply(CONFIG + '\n[[context]]\nname = "Ticket"\nou = "Contoso/Support"\ntype = "text"\n')
        result = self.run_cli("session", "add", "--id", "t-1", "--service", "Hotline", "--user", "mia",
                              "--started-at", "2026-11-20T08:00:00Z", "--context", "Ticket=T-1")
        self.assertEqual(result.code, 65, repr(result))
        self.assertIn('context field "Ticket" is not defined for service "Hotline"', result.err)

    # Where the context shows.

    def test_the_context_shows_only_where_the_service_enables_it(self):
        self.import_sessions(SESSIONS)
        # Like the directory's, the columns are there only when some session shows context.
        sessions = self.listed("--as", "mia")
        self.assertNotIn("context", sessions["c-1"])
        shown = self.json_ok("--as", "mia", "session", "show", "c-1")
        self.assertNotIn("context", shown)
        table = self.run_ok("--as", "mia", "session", "list").out
        self.assertNotIn("CONTEXT", table)
        self.assertNotIn("Billing", table)

        self.run_ok("extension", "enable", "Hotline", "conversation-context")
        self.assertEqual(self.listed("--as", "mia")["c-1"]["context"],
                         {"Reason": "Billing", "Account": "42", "Due": "2026-12-01"})
        table = self.run_ok("--as", "mia", "session", "list").out
        self.assertIn("CONTEXT", table)
        self.assertIn("Reason=Billing, Account=42, Due=2026-12-01", table)
        shown = self.json_ok("--as", "mia", "session", "show", "c-1")
        self.assertEqual(shown["context"], {"Reason": "Billing", "Account": "42", "Due": "2026-12-01"})
        record = self.run_ok("--as", "mia", "session", "show", "c-1").out
        self.assertRegex(record, r"(?m)^Reason +Billing$")
        self.assertRegex(record, r"(?m)^Due +2026-12-01$")

        # --columns picks columns by key, a field's among them.
        out = self.run_ok("--as", "mia", "session", "list", "--columns", "id,context.Reason,context.Due",
                          "--format", "csv").out
        self.assertEqual(list(csv.reader(io.StringIO(out))),
                         [["id", "context.Reason", "context.Due"], ["c-3", "", ""],
                          ["c-2", "Technical", ""], ["c-1", "Billing", "2026-12-01"]])
        result = self.assert_fails(64, "session", "list", "--columns", "id,colour")
        self.assertIn('no column "colour" here', result.err)
        self.assertIn("the columns are: id, service,", result.err)

    def test_the_guided_conclusion_shows_the_context(self):
        self.import_sessions(SESSIONS)
        self.run_ok("extension", "enable", "Hotline", "conversation-context")
        term = Terminal([BINARY, "--as", "mia", "session", "conclude", "c-1"], self.sandbox.environment())
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertIn("Context: Reason=Billing, Account=42, Due=2026-12-01", screen)
        term.type("\x04")
        self.assertEqual(term.wait(), 130, term.screen)
        self.run_ok("extension", "disable", "Hotline", "conversation-context")
        term = Terminal([BINARY, "--as", "mia", "session", "conclude", "c-1"], self.sandbox.environment())
        screen = term.expect("Primary codes (numbers, e.g. 1 3; Enter to skip): ")
        self.assertNotIn("Context:", screen)
        self.assertNotIn("Billing", screen)
        term.type("\x04")
        self.assertEqual(term.wait(), 130, term.screen)

    # Reports and the export.

    def concluded_sample(self):
        """Five Hotline sessions of November: three concluded Sale, one No sale, one open."""
        self.run_ok("code", "create", "--type", "primary", "--name", "No sale")
        self.run_ok("service", "apply", "Hotline", "--primary", "Sale,No sale")
        rows = ("id,service,user,direction,started_at,ended_at,outcome,caller,context.Reason,context.Account\n"
                "r-1,Hotline,mia,inbound,2026-11-02T08:00:00Z,2026-11-02T08:05:00Z,accepted,,Billing,1\n"
                "r-2,Hotline,mia,inbound,2026-11-03T08:00:00Z,2026-11-03T08:05:00Z,accepted,,billing,2\n"
                "r-3,Hotline,mia,inbound,2026-11-04T08:00:00Z,2026-11-04T08:05:00Z,accepted,,Technical,\n"
                "r-4,Hotline,mia,inbound,2026-11-05T08:00:00Z,2026-11-05T08:05:00Z,accepted,,,\n"
                "r-5,Hotline,mia,inbound,2026-11-06T08:00:00Z,2026-11-06T08:05:00Z,accepted,,Billing,\n")
        self.assertEqual(self.import_sessions(rows).code, 0)
        for session, code in (("r-1", "Sale"), ("r-2", "No sale"), ("r-3", "Sale"), ("r-4", "Sale")):
            self.run_ok("--as", "mia", "session", "conclude", session, "--primary", code)

    def test_reports_group_and_filter_by_a_choice_field(self):
        self.concluded_sample()
        rows = self.json_ok("report", "usage", "--month", "2026-11", "--by", "context.Reason,code")
        got = [(r["context.Reason"], r["code"], r["sessions"], r["share"]) for r in rows]
        # Every value of the field in its order, and every listed code by name; then the
        # sessions without a value. The share is over the group's concluded sessions.
        self.assertEqual(got, [("Billing", "No sale", 1, 0.5), ("Billing", "Sale", 1, 0.5),
                               ("Technical", "No sale", 0, 0.0), ("Technical", "Sale", 1, 1.0),
                               ("Other", "No sale", 0, None), ("Other", "Sale", 0, None),
                               (None, "Sale", 1, 1.0)])
        table = self.run_ok("report", "usage", "--month", "2026-11", "--by", "context.reason").out
        self.assertRegex(table, r"(?m)^Reason +SESSIONS +SHARE$")
        filtered = self.json_ok("report", "usage", "--month", "2026-11", "--context", "Reason=billing")
        self.assertEqual([(r["code"], r["sessions"]) for r in filtered], [("No sale", 1), ("Sale", 1)])
        # Grouped and filtered by one field: only that value's rows.
        both = self.json_ok("report", "usage", "--month", "2026-11", "--by", "context.Reason,code",
                            "--context", "Reason=Technical")
        self.assertEqual([(r["context.Reason"], r["code"], r["sessions"]) for r in both],
                         [("Technical", "No sale", 0), ("Technical", "Sale", 1)])
        summary = self.run_ok("report", "usage", "--month", "2026-11", "--context", "Reason=Billing").out
        self.assertIn("3 sessions, 2 concluded", summary)
        # Only a field with a fixed set of values groups; a filter's value is checked.
        self.assert_fails(64, "report", "usage", "--by", "context.Account",
                          stderr='context field "Account" is of type number; reports group by a field '
                                 'with a fixed set of values')
        self.assert_fails(3, "report", "usage", "--by", "context.Mood",
                          stderr='no context field "Mood" for the services of this report')
        self.assert_fails(64, "report", "usage", "--context", "Reason=Refund",
                          stderr='--context: context "Reason" is one of Billing, Technical, Other')
        self.assert_fails(64, "report", "usage", "--context", "Reason", stderr="is not NAME=VALUE")
        # Completion offers the choice fields as dimensions.
        offered = self.run_ok("__complete", "--", "report", "usage", "--by", "code,").out.splitlines()
        self.assertIn("code,context.Reason", offered)
        self.assertNotIn("code,context.Account", offered)

    def test_the_export_carries_the_context_as_a_dimension(self):
        self.concluded_sample()
        out = os.path.join(self.sandbox.dir, "model")
        self.run_ok("report", "export", "--dir", out)
        with open(os.path.join(out, "context_fields.csv"), newline="") as f:
            fields = {r["field_key"]: r for r in csv.DictReader(f)}
        with open(os.path.join(out, "session_context.csv"), newline="") as f:
            facts = list(csv.DictReader(f))
        with open(os.path.join(out, "sessions.csv"), newline="") as f:
            sessions = {r["session_key"]: r["session_id"] for r in csv.DictReader(f)}
        reason = next(k for k, f in fields.items() if f["name"] == "Reason")
        self.assertEqual((fields[reason]["type"], fields[reason]["values"], fields[reason]["ou_key"]),
                         ("choice", "Billing; Technical; Other", "1"))
        by_session = {(sessions[f["session_key"]], fields[f["field_key"]]["name"]): f["value"] for f in facts}
        self.assertEqual(by_session, {("r-1", "Reason"): "Billing", ("r-1", "Account"): "1",
                                      ("r-2", "Reason"): "Billing", ("r-2", "Account"): "2",
                                      ("r-3", "Reason"): "Technical", ("r-5", "Reason"): "Billing"})
        with open(os.path.join(out, "manifest.json")) as f:
            manifest = json.load(f)
        self.assertEqual(manifest["model_version"], 4)

    # Permanence.

    def test_a_concluded_sessions_context_is_final_and_chained(self):
        self.import_sessions(SESSIONS)
        self.run_ok("--as", "mia", "session", "conclude", "c-1", "--primary", "Sale")
        for sql in ("UPDATE session_context SET value = 'Other' WHERE value = 'Billing'",
                    "DELETE FROM session_context WHERE value = 'Billing'",
                    "INSERT INTO session_context (session_id, field_id, value) SELECT s.id, f.id, 'x' "
                    "FROM session s, context_field f WHERE s.external_id = 'c-1' AND f.name = 'Note'",
                    "DELETE FROM context_field WHERE name = 'Reason'"):
            self.assertTrue(self.sandbox.refuses(sql), sql)
        # The values are part of the conclusion's ledger entry: the chain verifies, and an
        # edit below the triggers is found.
        self.assertEqual(self.run_cli("verify").code, 0)
        if not self.sandbox.database():
            import sqlite3
            with sqlite3.connect(self.sandbox.store) as db:
                db.execute("DROP TRIGGER session_context_concluded_no_update")
                db.execute("UPDATE session_context SET value = 'Other' WHERE value = 'Billing'")
            result = self.run_cli("verify")
            self.assertEqual(result.code, 65, repr(result))
            self.assertIn('the conclusion of session "c-1": edited', result.err)


if __name__ == "__main__":
    main()
