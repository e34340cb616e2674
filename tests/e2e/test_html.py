"""report usage --format html: one self-contained, well-formed, escaped page."""

import html.parser
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from harness import NimbusTestCase, main, time_limit

HEADER = "id,service,user,direction,started_at,ended_at,outcome,caller\n"
EVIL_TAG = "<script>alert(1)</script>"


class StrictParser(html.parser.HTMLParser):
    """Collects the tags, and fails on anything html.parser finds broken."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


class HtmlReportTest(NimbusTestCase):
    def setUp(self):
        super().setUp()
        self.init_store()
        for command in (
            ("ou", "create", "Contoso/Sales"),
            ("code", "create", "--type", "primary", "--name", "Sale"),
            ("code", "create", "--type", "primary", "--name", "<b>Bold</b> & \"quoted\""),
            ("service", "create", "Q&A <Line>", "--ou", "Contoso/Sales", "--license", "contact-center"),
            ("service", "apply", "Q&A <Line>", "--primary", "Sale,<b>Bold</b> & \"quoted\""),
            ("extension", "enable", "Q&A <Line>", "codes-and-tags"),
        ):
            self.run_ok(*command)
        rows = HEADER + "".join(
            f"h-{i},Q&A <Line>,mia,inbound,2026-{month}-1{i}T08:00:00Z,2026-{month}-1{i}T08:05:00Z,accepted,\n"
            for i, month in enumerate(["09", "10", "10", "11"]))
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=rows)
        self.run_ok("session", "conclude", "h-0", "--primary", "Sale", "--tag", EVIL_TAG)
        self.run_ok("session", "conclude", "h-1", "--primary", "id:2")
        self.run_ok("session", "conclude", "h-2", "--primary", "Sale", "--primary", "id:2")
        self.run_ok("session", "conclude", "h-3", "--primary", "Sale")

    def page(self, *args):
        path = os.path.join(self.sandbox.dir, "usage.html")
        self.run_ok("report", "usage", "--from", "2026-09-01", "--to", "2026-11-30", "--format", "html",
                    "--output", path, *args)
        with open(path, encoding="utf-8") as f:
            return f.read()

    def test_well_formed_and_self_contained(self):
        page = self.page("--by", "month,code")
        self.assertTrue(page.startswith("<!DOCTYPE html>\n<html"))
        ET.fromstring(page.split("\n", 1)[1])  # strict: every tag closed, every entity known
        parser = StrictParser()
        parser.feed(page)
        parser.close()
        tags = [tag for tag, _ in parser.tags]
        self.assertIn("svg", tags)
        self.assertIn("table", tags)
        self.assertNotIn("script", tags)
        self.assertNotIn("link", tags)
        self.assertNotIn("img", tags)
        for tag, attrs in parser.tags:
            self.assertFalse({"src", "href"} & set(attrs), (tag, attrs))
        for outside in ("url(", "@import", "http://", "https://"):
            self.assertNotIn(outside, page)

    def test_chart_and_legend(self):
        page = self.page("--by", "month,code")
        parser = StrictParser()
        parser.feed(page)
        bars = [attrs for tag, attrs in parser.tags if tag == "rect"]
        # September: Sale; October: the bold code twice and Sale once; November: Sale.
        self.assertEqual(len(bars), 4)
        legend = "".join(parser.text)
        self.assertIn("Sale", legend)
        for month in ("2026-09", "2026-10", "2026-11"):
            self.assertIn(month, legend)
        self.assertIn("Period", legend)
        self.assertIn("2026-09-01 to 2026-11-30", legend)

    def test_user_text_is_escaped(self):
        page = self.page("--by", "tag,code", "--service", "Q&A <Line>")
        self.assertNotIn(EVIL_TAG, page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)
        self.assertNotIn("<b>Bold</b>", page)
        self.assertIn("&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;quoted&quot;", page)
        self.assertIn("Q&amp;A &lt;Line&gt;", page)
        parser = StrictParser()
        parser.feed(page)
        self.assertIn(EVIL_TAG, "".join(parser.text))  # shown as text, not run

    def test_only_report_usage_makes_html(self):
        self.assert_fails(64, "code", "list", "--format", "html",
                          stderr="'code list' does not take --format html")

    def test_renders_in_headless_chromium(self):
        if os.environ.get("NIMBUS_TEST_CHROMIUM") != "1":
            self.skipTest("opt-in: set NIMBUS_TEST_CHROMIUM=1 (needs Debian's chromium) to render the page")
        page = os.path.join(self.sandbox.dir, "usage.html")
        self.page("--by", "month,code")
        with tempfile.TemporaryDirectory() as profile:
            png = os.path.join(self.sandbox.dir, "usage.png")
            subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
                            "--window-size=900,1000", "file://" + page],
                           capture_output=True, timeout=time_limit(3), check=True)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(png), 10_000)


if __name__ == "__main__":
    main()
