#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include <nimbus/error.hpp>
#include <nimbus/sessions/rows.hpp>
#include <nimbus/sessions/tags.hpp>
#include <nimbus/util/csv.hpp>

using namespace nimbus;
using Fields = std::vector<std::string>;

namespace {

struct Record {
    std::size_t line;
    Fields fields;
    std::string error;
};

std::vector<Record> read_all(const std::string& text) {
    std::istringstream in(text);
    CsvReader reader(in);
    std::vector<Record> records;
    Fields fields;
    while (reader.next(fields)) {
        records.push_back(Record{reader.line(), fields, reader.error()});
    }
    return records;
}

} // namespace

TEST_CASE("csv: quoting, CRLF, BOM and blank lines") {
    const auto records =
        read_all("\xEF\xBB\xBFid,name\r\n1,\"a, \"\"b\"\"\"\r\n\r\n2,\"multi\nline\"\n3,,\n");
    REQUIRE(records.size() == 4);
    CHECK(records[0].fields == Fields{"id", "name"});
    CHECK(records[1].fields == Fields{"1", "a, \"b\""});
    CHECK(records[2].fields == Fields{"2", "multi\nline"});
    CHECK(records[2].line == 4);
    CHECK(records[3].fields == Fields{"3", "", ""});
    CHECK(records[3].line == 6);
}

TEST_CASE("csv: malformed quoting is reported and reading goes on") {
    const auto records = read_all("a,\"b\"c,d\ne,f\"g\nh,i\n\"open");
    REQUIRE(records.size() == 4);
    CHECK(records[0].error == "text after a closing quote");
    CHECK(records[1].error == "a quote inside an unquoted field");
    CHECK(records[2].fields == Fields{"h", "i"});
    CHECK(records[2].error.empty());
    CHECK(records[3].error.find("not closed") != std::string::npos);
}

TEST_CASE("csv: a last line without a line end") {
    const auto records = read_all("a,b");
    REQUIRE(records.size() == 1);
    CHECK(records[0].fields == Fields{"a", "b"});
}

TEST_CASE("rows: CSV columns by header, extra columns ignored") {
    std::istringstream in("caller,id,service,user,direction,started_at,note\n"
                          "+41,s-1,Hotline,mia,inbound,2026-11-26T08:00:00Z,x\n");
    const auto reader = sessions::RowReader::open(in, sessions::InputFormat::Csv, "t.csv");
    CHECK(reader->ignored_columns() == Fields{"note"});
    sessions::RawRow row;
    REQUIRE(reader->next(row));
    CHECK(row.line == 2);
    CHECK(row.fields.id == "s-1");
    CHECK(row.fields.caller == "+41");
    CHECK(row.fields.ended_at.empty());
    CHECK_FALSE(reader->next(row));
}

TEST_CASE("rows: a CSV header without a required column") {
    std::istringstream in("id,service,user,started_at\n");
    CHECK_THROWS_WITH_AS(sessions::RowReader::open(in, sessions::InputFormat::Csv, "t.csv"),
                         "t.csv:1: the header has no \"direction\" column", Error);
}

TEST_CASE("rows: JSON Lines") {
    std::istringstream in("{\"id\":\"s-1\",\"ended_at\":null,\"extra\":1}\n\n[1]\n{\"id\":2}\n");
    const auto reader = sessions::RowReader::open(in, sessions::InputFormat::JsonLines, "t.jsonl");
    sessions::RawRow row;
    REQUIRE(reader->next(row));
    CHECK(row.fields.id == "s-1");
    CHECK(row.error.empty());
    REQUIRE(reader->next(row));
    CHECK(row.line == 3);
    CHECK(row.error == "not a JSON object");
    REQUIRE(reader->next(row));
    CHECK(row.error == "\"id\" must be a string");
    CHECK_FALSE(reader->next(row));
}

TEST_CASE("rows: input formats by name and by file name") {
    CHECK(sessions::format_for_path("a/b.CSV") == sessions::InputFormat::Csv);
    CHECK(sessions::format_for_path("x.ndjson") == sessions::InputFormat::JsonLines);
    CHECK_FALSE(sessions::format_for_path("x.txt"));
    CHECK(sessions::parse_input_format("jsonl") == sessions::InputFormat::JsonLines);
}

TEST_CASE("tags: cleaned, case-insensitively unique, bounded") {
    CHECK(tags::clean_tags({"  big   deal ", "BIG DEAL", "Rückruf", "RÜCKRUF", "折り返し"}) ==
          Fields{"big deal", "Rückruf", "折り返し"});
    CHECK_THROWS_AS(tags::clean_tags({" "}), Error);
    CHECK_THROWS_AS(tags::clean_tags({std::string(51, 't')}), Error);
    CHECK(tags::clean_tags({std::string(50, 't')}).size() == 1);
    Fields many;
    for (int i = 0; i < 21; ++i) {
        many.push_back("t" + std::to_string(i));
    }
    CHECK_THROWS_AS(tags::clean_tags(many), Error);
    many.pop_back();
    many.push_back("T0"); // a repeat does not count
    CHECK(tags::clean_tags(many).size() == 20);
}

TEST_CASE("csv: CR line ends, alone or mixed") {
    const auto records = read_all("id,name\r1,a\r\r2,\"x\ry\"\r3,b\r\n4,c\n");
    REQUIRE(records.size() == 5);
    CHECK(records[1].fields == Fields{"1", "a"});
    CHECK(records[1].line == 2);
    CHECK(records[2].fields == Fields{"2", "x\ry"});
    CHECK(records[2].line == 4);
    CHECK(records[3].fields == Fields{"3", "b"});
    CHECK(records[3].line == 6);
    CHECK(records[4].fields == Fields{"4", "c"});
    CHECK(records[4].line == 7);
}

TEST_CASE("csv: a malformed line ended by CR is skipped to its end") {
    const auto records = read_all("a,\"b\"c\rd,e\r");
    REQUIRE(records.size() == 2);
    CHECK(records[0].error == "text after a closing quote");
    CHECK(records[1].fields == Fields{"d", "e"});
    CHECK(records[1].line == 2);
}

TEST_CASE("rows: a CSV header that is not UTF-8") {
    std::istringstream in("id,service,user,direction,started_at,not\xFF\n");
    CHECK_THROWS_WITH_AS(sessions::RowReader::open(in, sessions::InputFormat::Csv, "t.csv"),
                         "t.csv:1: header: column 6 is not valid UTF-8 (byte 4 is 0xFF)", Error);
}

TEST_CASE("rows: JSON Lines refuses repeated keys, bytes that are not UTF-8 and lone CRs") {
    std::istringstream in("{\"id\":\"j-1\",\"id\":\"j-2\"}\n"
                          "{\"id\":\"j-3\",\"extra\":{\"a\":1,\"a\":2}}\n"
                          "{\"id\":\"j-4\",\"extra\":[{\"a\":1},{\"a\":2}]}\n"
                          "{\"id\":\"j-5\xFF\"}\n"
                          "{\"id\":\"j-6\"}\r{\"id\":\"j-7\"}\n"
                          "{\"id\":\"j-8\"}\r\n");
    const auto reader = sessions::RowReader::open(in, sessions::InputFormat::JsonLines, "t.jsonl");
    sessions::RawRow row;
    REQUIRE(reader->next(row));
    CHECK(row.error == "key \"id\" is given twice");
    REQUIRE(reader->next(row));
    CHECK(row.error == "key \"a\" is given twice");
    REQUIRE(reader->next(row));
    CHECK(row.error.empty()); // one "a" in each of two objects
    CHECK(row.fields.id == "j-4");
    REQUIRE(reader->next(row));
    CHECK(row.error == "the line is not valid UTF-8 (byte 11 is 0xFF)");
    REQUIRE(reader->next(row));
    CHECK(row.error.find("carriage return") != std::string::npos);
    REQUIRE(reader->next(row));
    CHECK(row.error.empty());
    CHECK(row.fields.id == "j-8");
    CHECK_FALSE(reader->next(row));
}
