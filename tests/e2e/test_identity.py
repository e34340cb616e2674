"""The identity file, whoami and acting as another user."""

import os

from harness import CAST, LOGIN, NimbusTestCase, main


class IdentityTest(NimbusTestCase):
    def test_whoami(self):
        me = self.json_ok("whoami")
        self.assertEqual(me["user"], LOGIN)
        self.assertIsNone(me["via"])
        self.assertTrue(me["tenant_admin"])
        self.assertEqual(me["identity_file"], self.sandbox.identity)
        table = self.run_ok("whoami").out
        self.assertIn("Test Runner", table)

    def test_whoami_as_another_user(self):
        sam = self.json_ok("whoami", "--as", "sam")
        self.assertEqual(sam["user"], "sam")
        self.assertEqual(sam["via"], LOGIN)
        self.assertEqual(sam["ou_admin"], ["Contoso/Sales"])
        self.assertFalse(sam["tenant_admin"])

    def test_as_needs_a_tenant_admin(self):
        users = dict(CAST)
        users[LOGIN] = {"name": "Test Runner", "owner": ["Hotline"]}
        self.sandbox.write_identity(users)
        self.assert_fails(77, "whoami", "--as", "alice", stderr="only tenant admins may act as another user")

    def test_as_an_unknown_user_is_not_found(self):
        self.assert_fails(3, "whoami", "--as", "nobody", stderr='user "nobody" is not listed')

    def test_os_account_not_in_file(self):
        self.sandbox.write_identity({"alice": CAST["alice"]})
        self.assert_fails(77, "whoami", stderr=f'OS account "{LOGIN}" is not listed in identity file {self.sandbox.identity}')

    def test_writable_by_group_or_others_is_refused(self):
        for mode in (0o620, 0o602, 0o666):
            os.chmod(self.sandbox.identity, mode)
            result = self.assert_fails(78, "whoami", stderr="writable by group or others")
            self.assertIn("chmod go-w", result.err)
        os.chmod(self.sandbox.identity, 0o644)
        self.run_ok("whoami")

    def test_malformed_toml_names_line_and_column(self):
        self.sandbox.write_identity_text(f'[users.{LOGIN}]\nname = "A"\ntenant_admin = \n')
        self.assert_fails(78, "whoami", stderr=f"{self.sandbox.identity}:3:")

    def test_unknown_key(self):
        self.sandbox.write_identity_text(f'[users.{LOGIN}]\nname = "A"\nadmin = true\n')
        self.assert_fails(78, "whoami", stderr=f'{self.sandbox.identity}:3:1: unknown key "admin"')

    def test_the_file_may_say_its_format_and_a_newer_one_is_refused(self):
        body = f'[users.{LOGIN}]\nname = "A"\ntenant_admin = true\n'
        self.sandbox.write_identity_text("format = 1\n" + body)
        self.assertEqual(self.json_ok("whoami")["user"], LOGIN)
        # A newer format may mean something else by its keys: it is never read as this one.
        self.sandbox.write_identity_text("format = 2\n" + body + "deny = true\n")
        result = self.assert_fails(78, "whoami", stderr=f"{self.sandbox.identity}:1:10: the identity file is "
                                                        "in format 2, newer than this nimbus-codes reads (up to 1)")
        self.assertIn("upgrade nimbus-codes", result.err)
        for value in ('"1"', "-1", "true"):
            self.sandbox.write_identity_text(f"format = {value}\n" + body)
            self.assert_fails(78, "whoami", stderr='"format" must be a whole number from 1')

    def test_wrong_type(self):
        self.sandbox.write_identity_text(f'[users.{LOGIN}]\nname = "A"\nowner = "Hotline"\n')
        self.assert_fails(78, "whoami", stderr=f"{self.sandbox.identity}:3:9: \"owner\" must be an array of strings")

    def test_empty_name(self):
        self.sandbox.write_identity_text(f'[users.{LOGIN}]\nname = " "\n')
        self.assert_fails(78, "whoami", stderr=f"users.{LOGIN}.name is empty")
        self.sandbox.write_identity_text(f'[users.{LOGIN}]\nemail = "a@b"\n')
        self.assert_fails(78, "whoami", stderr='has no "name"')

    def test_toml_parser_crashers_are_plain_errors(self):
        # toml++ 3.3.0 aborts on the first and reaches undefined behaviour on the second.
        for content in (b"[\n", b"[ser\xcb\x9c", b'a = """\\\n\xc2\xa7\n'):
            self.sandbox.write_identity_text(content)
            self.assert_fails(78, "whoami", stderr=self.sandbox.identity)

    def test_missing_identity_file(self):
        os.remove(self.sandbox.identity)
        self.assert_fails(78, "whoami", stderr="does not exist")

    def test_default_identity_path_follows_xdg(self):
        config = os.path.join(self.sandbox.dir, "xdg-config")
        os.makedirs(os.path.join(config, "nimbus-codes"))
        os.rename(self.sandbox.identity, os.path.join(config, "nimbus-codes", "identity.toml"))
        me = self.json_ok("whoami", env={"NIMBUS_CODES_IDENTITY": None, "XDG_CONFIG_HOME": config})
        self.assertEqual(me["identity_file"], os.path.join(config, "nimbus-codes", "identity.toml"))

    def test_identity_option_beats_environment(self):
        other = os.path.join(self.sandbox.dir, "other.toml")
        with open(other, "w") as f:
            f.write(f'[users.{LOGIN}]\nname = "Other Me"\n')
        os.chmod(other, 0o600)
        self.assertEqual(self.json_ok("whoami", "--identity", other)["name"], "Other Me")


if __name__ == "__main__":
    main()
