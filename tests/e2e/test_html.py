"""report usage --format html: one self-contained, well-formed, escaped page."""

import html.parser
import os
import re
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


SWATCH = re.compile(r'<li><span class="swatch" style="background: (#[0-9a-f]{6})"></span>([^<]*)</li>')
BAR = re.compile(r'<rect [^>]*fill="(#[0-9a-f]{6})"><title>(\d{4}-\d{2}) ([^<]*): (\d+)</title></rect>')


class ManyCodesChartTest(NimbusTestCase):
    """Fifteen primary codes: no two share a colour; the least used are one "Other"."""

    def setUp(self):
        super().setUp()
        self.init_store()
        names = [f"Code {k:02}" for k in range(1, 16)]
        for command in (("ou", "create", "Contoso/Sales"),
                        *(("code", "create", "--type", "primary", "--name", name) for name in names),
                        ("service", "create", "Hotline", "--ou", "Contoso/Sales", "--license", "contact-center"),
                        ("service", "apply", "Hotline", "--primary", ",".join(names)),
                        ("extension", "enable", "Hotline", "codes-and-tags")):
            self.run_ok(*command)
        # Session j carries codes 1 to j: code k is used 16 - k times.
        rows = HEADER + "".join(
            f"s-{j},Hotline,mia,inbound,2026-{10 + j % 2}-{j:02}T08:00:00Z,2026-{10 + j % 2}-{j:02}T08:05:00Z,"
            "accepted,\n" for j in range(1, 16))
        self.run_ok("session", "import", "-", "--input-format", "csv", stdin=rows)
        for j in range(1, 16):
            self.run_ok("session", "conclude", f"s-{j}", *sum((["--primary", f"id:{k}"] for k in range(1, j + 1)), []))
            if j == 7:
                # A rename within the period: a code under two names is still
                # one code, with one colour.
                self.run_ok("code", "edit", "Code 01", "--name", "Code 01 new")

    def test_every_colour_stands_for_one_thing(self):
        path = os.path.join(self.sandbox.dir, "usage.html")
        self.run_ok("report", "usage", "--from", "2026-10-01", "--to", "2026-11-30", "--format", "html",
                    "--output", path)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        legend = SWATCH.findall(page)
        colours = [colour for colour, _ in legend]
        self.assertEqual(len(set(colours)), len(colours), legend)
        labels = [label for _, label in legend]
        # The nine most used codes, in the report's order, then the rest as one.
        self.assertEqual(labels, ["Code 01 / Code 01 new"] + [f"Code {k:02}" for k in range(2, 10)]
                         + ["Other (6 codes)"])
        self.assertIn("Other: " + ", ".join(f"Code {k:02}" for k in range(10, 16)), page)
        colour_of = {label: colour for colour, label in legend}
        bars = BAR.findall(page)
        self.assertTrue(bars)
        for fill, month, label, value in bars:
            self.assertEqual(fill, colour_of[label], (month, label))
        # Nothing is lost: the bars hold every use, 15 + 14 + ... + 1.
        self.assertEqual(sum(int(value) for *_, value in bars), 120)
        other = sum(int(value) for _, _, label, value in bars if label == "Other (6 codes)")
        self.assertEqual(other, sum(16 - k for k in range(10, 16)))

    def test_ten_codes_have_ten_colours(self):
        path = os.path.join(self.sandbox.dir, "usage.html")
        codes = sum((["--code", f"id:{k}"] for k in range(1, 11)), [])
        self.run_ok("report", "usage", "--from", "2026-10-01", "--to", "2026-11-30", "--format", "html",
                    "--output", path, *codes)
        with open(path, encoding="utf-8") as f:
            legend = SWATCH.findall(f.read())
        self.assertEqual(len(legend), 10)
        self.assertEqual(len({colour for colour, _ in legend}), 10)
        self.assertNotIn("Other", " ".join(label for _, label in legend))


if __name__ == "__main__":
    main()
