"""Input that must be refused: each refusal exits 65 (invalid data), or 64 for a
store string, names the file and line or the argument, and changes nothing."""

import json
import os
import urllib.parse

from harness import ENGINE, LOGIN, NimbusTestCase, POSTGRESQL, main, postgresql_only

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"
ROW = "{id},Hotline,mia,inbound,2026-11-26T08:00:00Z,2026-11-26T08:05:00Z,accepted,{caller}\n"
TABLES = ("ou", "code", "service", "service_code", "session", "conclusion", "conclusion_tag", "audit")


class InputTestCase(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_hotline()

    def write(self, name, data):
        path = os.path.join(self.sandbox.dir, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    def state(self):
        """Every row a refused command must leave as it was."""
        return {table: self.sandbox.rows(f"SELECT * FROM {table} ORDER BY 1") for table in TABLES}

    def refused(self, code, *args, stderr=None, **kwargs):
        """Asserts the refusal, and that the store is unchanged by it."""
        before = self.state()
        result = self.assert_fails(code, *args, stderr=stderr, **kwargs)
        self.assertEqual(self.state(), before, repr(result))
        return result

    def session_ids(self):
        return [row[0] for row in self.sandbox.rows("SELECT external_id FROM session ORDER BY external_id")]


class Utf8Test(InputTestCase):
    """Bytes that are not UTF-8 are refused wherever they come in, never cut short."""

    def test_import_refuses_invalid_utf8_in_any_field(self):
        self.import_calls(["u-1"])
        cases = (
            # (field, row) with the bad byte's position in the field
            ('"id" is not valid UTF-8 (byte 4 is 0xFF)', ROW.format(id="u-1", caller="").replace("u-1", "u-1\udcff")),
            ('"user" is not valid UTF-8 (byte 4 is 0xFF)', ROW.format(id="u-2", caller="").replace("mia", "mia\udcff")),
            ('"caller" is not valid UTF-8 (byte 7 is 0xC3)', ROW.format(id="u-3", caller="+41 44\udcc3")),
            ('"id" is not valid UTF-8 (byte 4 is 0xC0)', ROW.format(id="u-4\udcc0\udcaf", caller="")),  # overlong "/"
            ('"id" is not valid UTF-8 (byte 4 is 0xED)', ROW.format(id="u-5\udced\udca0\udc80", caller="")),  # surrogate
            ('"service" is not valid UTF-8 (byte 8 is 0xFF)', ROW.format(id="u-6", caller="").replace("Hotline", "Hotline\udcff")),
        )
        for reason, row in cases:
            with self.subTest(reason=reason):
                path = self.write("calls.csv", (HEADER + row).encode("utf-8", "surrogateescape"))
                self.refused(65, "session", "import", path, stderr=f"{path}:2: {reason}")
        self.assertEqual(self.session_ids(), ["u-1"])

    def test_jsonl_refuses_invalid_utf8(self):
        line = json.dumps({"id": "j-1", "service": "Hotline", "user": "mia", "direction": "inbound",
                           "started_at": "2026-11-26T08:00:00Z"}).encode()
        path = self.write("calls.jsonl", line.replace(b"mia", b"mia\xff") + b"\n")
        byte = line.index(b"mia") + 4
        self.refused(65, "session", "import", path, stderr=f"{path}:1: the line is not valid UTF-8 (byte {byte} is 0xFF)")

    def test_csv_header_must_be_utf8(self):
        path = self.write("calls.csv", HEADER.replace("caller", "caller\xff").encode("latin-1") +
                          ROW.format(id="h-1", caller="").encode())
        self.refused(65, "session", "import", path, stderr=f"{path}:1: header: column 8 is not valid UTF-8")

    def test_session_add_refuses_invalid_utf8(self):
        bad = b"s-9\xff".decode("utf-8", "surrogateescape")
        self.refused(65, "session", "add", "--id", bad, "--service", "Hotline", "--user", "mia",
                     "--started-at", "2026-11-26T08:00:00Z", stderr="not valid UTF-8")
        self.assertNotIn("s-9", self.session_ids())

    def test_config_file_must_be_utf8(self):
        text = self.run_ok("config", "export").out
        text = text.replace('name = "Sale"', 'name = "Sale\udcff"')
        path = self.write("contoso.toml", text.encode("utf-8", "surrogateescape"))
        line = text[:text.index("Sale\udcff")].count("\n") + 1
        for verb in ("plan", "apply"):
            self.refused(65, "config", verb, path, stderr=f"{path}:{line}:13: not valid UTF-8 (byte 0xFF)")

    def test_identity_file_must_be_utf8(self):
        self.sandbox.write_identity_text(f'[users.{LOGIN}]\nname = "Runner"\ntenant_admin = true\n\n'
                                         '[users.mia]\nname = "Mia\xff"\n'.encode("latin-1"))
        self.refused(78, "code", "list", stderr=f"{self.sandbox.identity}:6:12: not valid UTF-8 (byte 0xFF)")


class LinesTest(InputTestCase):
    def test_cr_only_line_ends_are_read(self):
        rows = ROW.format(id="cr-1", caller="") + ROW.format(id="cr-2", caller="")
        path = self.write("mac.csv", (HEADER + rows).replace("\n", "\r"))
        result = self.run_ok("session", "import", path, "--format", "json")
        self.assertEqual(result.json()["inserted"], 2)
        self.assertEqual(self.session_ids(), ["cr-1", "cr-2"])
        # Lines are counted at CRs too.
        path = self.write("mac-bad.csv", (HEADER + rows + "cr-3,Nowhere,mia,inbound,2026-11-26T08:00:00Z,,,\r")
                          .replace("\n", "\r"))
        self.refused(65, "session", "import", path, stderr=f'{path}:4: service "Nowhere" does not exist')

    def test_a_file_that_is_not_empty_is_never_zero_rows_and_success(self):
        for name, content, message in (("blank.csv", "\n\r\n\n", "no header row, only blank lines"),
                                       ("bom.csv", "\ufeff", "no header row, only blank lines"),
                                       ("blank.jsonl", "\n  \n\t\n", "no sessions, only blank lines")):
            path = self.write(name, content)
            self.refused(65, "session", "import", path, stderr=f"{path}: {message}")
        # A header alone is an export of no calls (a quiet Sunday); an empty file too.
        for name, content in (("header.csv", HEADER), ("empty.csv", ""), ("empty.jsonl", "")):
            result = self.run_ok("session", "import", self.write(name, content), "--format", "json")
            self.assertEqual(result.json()["rows"], 0)
        self.assertEqual(self.session_ids(), [])

    def test_a_line_break_in_a_quoted_field(self):
        header = HEADER.rstrip("\n") + ",notes\n"
        # In a column nimbus-codes ignores, it is read and dropped; the next row's line is right.
        rows = (ROW.format(id="q-1", caller="").rstrip("\n") + ',"two\nlines"\n' +
                "q-2,Nowhere,mia,inbound,2026-11-26T08:00:00Z,,,,\n")
        path = self.write("notes.csv", header + rows)
        self.refused(65, "session", "import", path, stderr=f'{path}:4: service "Nowhere" does not exist')
        # In a field it stores, the row is refused, naming the row's first line and the field.
        for line_break in ("\n", "\r\n"):
            rows = (ROW.format(id="q-3", caller="").rstrip("\n") + ",\n" +
                    ROW.format(id="q-4", caller=f'"+41 44{line_break}555"').rstrip("\n") + ",\n")
            path = self.write("caller.csv", header + rows)
            self.refused(65, "session", "import", path, stderr=f'{path}:3: "caller" contains a line break')
        self.assertEqual(self.session_ids(), [])

    def test_a_duplicate_json_key_is_refused(self):
        path = self.write("dup.jsonl", '{"id":"j-1","id":"j-2","service":"Hotline","user":"mia",'
                                       '"direction":"inbound","started_at":"2026-11-26T08:00:00Z"}\n')
        self.refused(65, "session", "import", path, stderr=f'{path}:1: key "id" is given twice')
        self.assertEqual(self.session_ids(), [])


class TimesTest(InputTestCase):
    def test_call_times_must_lie_in_the_range(self):
        cases = {
            "0000-01-01T00:00:00Z": "started_at", "9999-12-31T23:59:59Z": "started_at",
            "1999-12-31T23:59:59Z": "started_at", "2100-01-01T00:00:00Z": "started_at",
            "2000-01-01T00:30:00+01:00": "started_at",
        }
        for time, field in cases.items():
            with self.subTest(time=time):
                row = f"t-1,Hotline,mia,inbound,{time},,,\n"
                path = self.write("times.csv", HEADER + row)
                self.refused(65, "session", "import", path,
                             stderr=f'{path}:2: {field} "{time}" is outside the times calls can have, '
                                    "2000-01-01T00:00:00Z up to 2100-01-01T00:00:00Z")
        path = self.write("end.csv", HEADER + "t-2,Hotline,mia,inbound,2099-12-31T23:00:00Z,9999-01-01T00:00:00Z,accepted,\n")
        self.refused(65, "session", "import", path, stderr=f'{path}:2: ended_at "9999-01-01T00:00:00Z" is outside')
        self.refused(65, "session", "add", "--id", "t-3", "--service", "Hotline", "--user", "mia",
                     "--started-at", "0000-01-01T00:00:00Z", stderr='started_at "0000-01-01T00:00:00Z" is outside')
        # The edges that are in.
        path = self.write("edges.csv", HEADER + "t-4,Hotline,mia,inbound,2000-01-01T00:00:00Z,,,\n"
                          "t-5,Hotline,mia,inbound,2099-12-31T23:59:59Z,,,\n")
        self.run_ok("session", "import", path)
        self.assertEqual(self.session_ids(), ["t-4", "t-5"])


class NamesTest(InputTestCase):
    INVISIBLE = ("\u00ad", "\u034f", "\ufe0f", "\u2062", "\u180e", "\u3164", "\u200d", "\u200c", "\U000e0001")

    def test_invisible_characters_are_refused_in_every_kind_of_name(self):
        for c in self.INVISIBLE:
            point = f"U+{ord(c):04X}"
            with self.subTest(point=point):
                message = f"contains the invisible character {point}"
                self.refused(65, "code", "create", "--type", "primary", "--name", f"Sa{c}le",
                             stderr=f"code name {message}")
                self.refused(65, "code", "edit", "Sale", "--name", f"Sa{c}le", stderr=f"code name {message}")
                self.refused(65, "service", "create", f"Hot{c}line 2", "--ou", "Contoso", "--license",
                             "contact-center", stderr=f"service name {message}")
                self.refused(65, "ou", "create", f"Contoso/Sup{c}port", stderr=f"OU name {message}")
        self.import_calls(["n-1"])
        self.refused(65, "session", "conclude", "n-1", "--as", "mia", "--tag", "V\u00adIP",
                     stderr="a tag contains the invisible character U+00AD")

    def test_look_alike_codes_are_refused(self):
        sale = self.json_ok("code", "show", "Sale")["id"]
        for name in ("S\u0430le", "\uff33ale", "s\u0430le", "S\u0410LE"):  # Cyrillic а, fullwidth Ｓ, case
            with self.subTest(name=name):
                self.refused(65, "code", "create", "--type", "primary", "--name", name,
                             stderr=f'code name "{name}" looks like primary code "Sale" (id:{sale}) in OU "Contoso"')
        # Along the OU path, above or below: a service there could offer both.
        self.refused(65, "code", "create", "--type", "primary", "--name", "S\u0430le", "--ou", "Contoso/Sales",
                     stderr='looks like primary code "Sale"')
        # A rename too.
        self.run_ok("code", "create", "--type", "primary", "--name", "Upsell")
        self.refused(65, "code", "edit", "Upsell", "--name", "\uff33ale", stderr='looks like primary code "Sale"')
        # Not a code of the other type, nor a deleted one.
        self.run_ok("code", "create", "--type", "secondary", "--name", "S\u0430le")
        self.run_ok("code", "create", "--type", "primary", "--name", "Old")
        self.run_ok("code", "delete", "Old")
        self.run_ok("code", "create", "--type", "primary", "--name", "\u041eld")  # Cyrillic О

    def test_look_alike_codes_in_unrelated_ous_are_allowed(self):
        # Codes of one name may live in OUs no service sees together; so may look-alikes.
        self.run_ok("ou", "create", "Contoso/Support")
        self.run_ok("code", "create", "--type", "primary", "--name", "Refund", "--ou", "Contoso/Sales")
        self.run_ok("code", "create", "--type", "primary", "--name", "R\u0435fund", "--ou", "Contoso/Support")

    def test_look_alike_services_and_sibling_ous_are_refused(self):
        self.refused(65, "service", "create", "H\u03bftline", "--ou", "Contoso", "--license", "contact-center",
                     stderr='service name "H\u03bftline" looks like service "Hotline" in OU "Contoso/Sales"')
        self.run_ok("service", "create", "Desk", "--ou", "Contoso", "--license", "basic-routing")
        self.refused(65, "service", "edit", "Desk", "--name", "HOTL\u0406NE", stderr='looks like service "Hotline"')
        self.refused(65, "ou", "create", "Contoso/S\u0430les", stderr='OU name "S\u0430les" looks like OU "Contoso/Sales"')
        self.refused(65, "ou", "create", "Contoso/S\u0430les/EMEA", "--parents", stderr='looks like OU "Contoso/Sales"')
        # Not a sibling: another parent.
        self.run_ok("ou", "create", "Contoso/Sales/S\u0430les")

    def test_config_apply_refuses_look_alikes_at_their_line(self):
        text = self.run_ok("config", "export").out + '\n[[codes]]\ntype = "primary"\nname = "S\u0430le"\n'
        path = self.write("contoso.toml", text)
        line = text.count("\n") - 2
        self.refused(65, "config", "apply", path, stderr=f'{path}:{line}: code name "S\u0430le" looks like primary code "Sale"')

    def test_config_apply_of_many_codes(self):
        codes = "".join(f'\n[[codes]]\ntype = "primary"\nname = "Code {i:03}"\n' for i in range(200))
        path = self.write("many.toml", 'tenant = "Contoso"\n' + codes)
        self.run_ok("config", "apply", path)
        self.assertEqual(len(self.json_ok("code", "list")), 201)

    def test_dot_components_are_refused(self):
        self.run_ok("ou", "create", "Contoso/Support")
        for path in ("Contoso/Sales/../Support/X", "Contoso/.", "Contoso/Sales/..", "Contoso/./Sales"):
            with self.subTest(path=path):
                self.refused(65, "ou", "create", "--parents", path, stderr="is not allowed")
        self.refused(65, "service", "create", "Desk", "--ou", "Contoso/Sales/../Support", "--license", "basic-routing",
                     stderr='has a component "." or ".."')

    def test_id_prefix_is_reserved_in_any_case(self):
        self.refused(65, "service", "create", "ID:5", "--ou", "Contoso", "--license", "basic-routing",
                     stderr='service name "ID:5" begins with "ID:"')
        self.refused(65, "ou", "create", "Contoso/id:x", stderr='OU name "id:x" begins with "id:"')
        self.refused(65, "code", "edit", "Sale", "--name", "Id:2", stderr='code name "Id:2" begins with "Id:"')

    def test_id_references_in_any_case(self):
        sale = self.json_ok("code", "show", "Sale")["id"]
        self.assertEqual(self.json_ok("code", "show", f"ID:{sale}")["name"], "Sale")
        self.run_ok("code", "create", "--type", "primary", "--name", "No sale")
        no_sale = self.json_ok("code", "show", "No sale")["id"]
        self.run_ok("service", "apply", "Hotline", "--primary", f"Id:{no_sale},ID:{sale}")
        self.assertEqual(self.json_ok("service", "show", "Hotline")["primary"], ["No sale", "Sale"])
        self.run_ok("service", "apply", "Hotline", "--remove-primary", f"ID:{no_sale}")
        self.import_calls(["i-1"])
        self.run_ok("session", "conclude", "i-1", "--as", "mia", "--primary", f"ID:{sale}")
        self.assertEqual(self.json_ok("session", "show", "i-1")["codes"], [{"id": sale, "type": "primary", "name": "Sale"}])

    def test_ou_paths_start_at_the_root(self):
        hint = 'does not start at the tenant root "Contoso"'
        self.refused(65, "ou", "create", "Fabrikam/Sales", stderr=hint)
        self.refused(65, "service", "create", "Desk", "--ou", "Fabrikam/Sales", "--license", "basic-routing", stderr=hint)
        self.refused(65, "code", "create", "--type", "primary", "--name", "Refund", "--ou", "Fabrikam", stderr=hint)
        # A path from the root that is not there is still not found.
        self.refused(3, "service", "create", "Desk", "--ou", "Contoso/Nowhere", "--license", "basic-routing",
                     stderr='OU "Contoso/Nowhere" does not exist')


class StoreStringTest(InputTestCase):
    """Connection strings are never files, and their passwords are never shown."""

    def assert_no_files(self, cwd):
        self.assertEqual(os.listdir(cwd), [])

    def refused_store(self, code, store, stderr=None, secret=None):
        cwd = os.path.join(self.sandbox.dir, "cwd")
        os.makedirs(cwd, exist_ok=True)
        for args in (("init", "--tenant", "Contoso", "--store", store), ("code", "list", "--store", store)):
            result = self.assert_fails(code, *args, stderr=stderr, cwd=cwd)
            if secret:
                self.assertNotIn(secret, result.err)
            self.assert_no_files(cwd)

    def test_passwords_are_refused_and_never_repeated(self):
        for store in ("PostgreSQL://nimbus:s3cret@db.example/nimbus",
                      "POSTGRES://nimbus@db.example/nimbus?password=s3cret",
                      "postgresql://nimbus@db.example/nimbus?pass%77ord=s3cret",
                      "host=db.example password=s3cret dbname=nimbus",
                      "host=db.example password = 's3 cret' dbname=nimbus"):
            with self.subTest(store=store):
                self.refused_store(64, store, stderr="contains a password", secret="s3")
        self.refused_store(64, "PostgreSQL://nimbus:s3cret@db.example/nimbus",
                           stderr="postgresql://nimbus:***@db.example/nimbus contains a password")

    def test_other_schemes_and_malformed_strings_are_usage_errors(self):
        self.refused_store(64, "mysql://root:s3cret@db.example/nimbus", stderr="mysql:// URI", secret="s3cret")
        self.refused_store(64, "postgresql:nimbus.db", stderr="is not a PostgreSQL URI")
        self.refused_store(64, "host=db.example flavour=sqlite", stderr='invalid connection option "flavour"')
        self.refused_store(64, "Postgres://nimbus@[::1/nimbus", stderr="cannot be read")

    def test_any_spelling_names_a_server(self):
        # No server listens on port 1: each is taken for PostgreSQL and fails to connect.
        for store in ("PostgreSQL://nimbus@127.0.0.1:1/nimbus", "host=127.0.0.1 port=1 dbname=nimbus"):
            with self.subTest(store=store):
                self.refused_store(75, store, stderr="cannot reach PostgreSQL server 127.0.0.1:1")

    @postgresql_only
    def test_scheme_case_and_keyword_value_strings_reach_the_server(self):
        uri = urllib.parse.urlsplit(self.sandbox.store)
        spellings = ("POSTGRESQL" + self.sandbox.store[len("postgresql"):],
                     f"host={uri.hostname} port={uri.port} user={uri.username} dbname={uri.path[1:]}")
        for store in spellings:
            with self.subTest(store=store):
                self.assertEqual(self.json_ok("code", "list", "--store", store)[0]["name"], "Sale")
                self.assertIn("unchanged", self.run_ok("init", "--store", store).err)


if __name__ == "__main__":
    main()
