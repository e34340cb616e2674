#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <nimbus/output/rows.hpp>

using namespace nimbus::output;

namespace {

Rows sample() {
    Rows rows;
    rows.columns = {{"id", "ID"},
                    {"name", "NAME"},
                    {"note", "NOTE", Audience::People},
                    {"raw", "RAW", Audience::Programs}};
    rows.add({std::int64_t{1}, std::string("Sale"), std::string("x"), RawJson{"{\"a\":1}"}});
    rows.add(
        {std::int64_t{-2}, std::string("=HYPERLINK(\"evil\")"), std::string("y"), RawJson{""}});
    return rows;
}

} // namespace

TEST_CASE("rows: CSV quotes per RFC 4180 and neutralises formulas") {
    std::ostringstream out;
    render_csv(out, sample());
    CHECK(out.str() == "id,name,raw\r\n"
                       "1,Sale,\"{\"\"a\"\":1}\"\r\n"
                       "-2,\"'=HYPERLINK(\"\"evil\"\")\",\r\n");
}

TEST_CASE("rows: CSV guards every formula lead character") {
    for (const char* lead : {"=", "+", "-", "@", "\t", "\r"}) {
        Rows rows;
        rows.columns = {{"v", "V"}};
        rows.add({std::string(lead) + "1"});
        std::ostringstream out;
        render_csv(out, rows);
        CAPTURE(lead);
        CHECK(out.str().find('\'') != std::string::npos);
    }
}

TEST_CASE("rows: JSON keeps column order and types") {
    std::ostringstream out;
    render_json(out, sample(), Shape::List);
    CHECK(out.str() == "[\n  {\n    \"id\": 1,\n    \"name\": \"Sale\",\n    \"raw\": {\n"
                       "      \"a\": 1\n    }\n  },\n  {\n    \"id\": -2,\n"
                       "    \"name\": \"=HYPERLINK(\\\"evil\\\")\",\n    \"raw\": null\n  }\n]\n");
}

TEST_CASE("rows: JSON lists are written row by row as the whole array would be") {
    Rows rows;
    rows.columns = {{"id", "ID"}, {"tags", "TAGS"}, {"raw", "RAW"}};
    rows.add({std::int64_t{1}, Strings{"a", "b"}, RawJson{"{\"x\":[1,{\"y\":\"z\\nw\"}]}"}});
    rows.add({std::int64_t{2}, Strings{}, RawJson{"{}"}});
    rows.add({std::int64_t{3}, Strings{"\n"}, RawJson{""}});
    nlohmann::ordered_json whole = nlohmann::ordered_json::array();
    whole.push_back({{"id", 1}, {"tags", {"a", "b"}}, {"raw", {{"x", {1, {{"y", "z\nw"}}}}}}});
    whole.push_back({{"id", 2},
                     {"tags", nlohmann::ordered_json::array()},
                     {"raw", nlohmann::ordered_json::object()}});
    whole.push_back({{"id", 3}, {"tags", {"\n"}}, {"raw", nullptr}});
    std::ostringstream out;
    render_json(out, rows, Shape::List);
    CHECK(out.str() == whole.dump(2) + "\n");
    std::ostringstream empty;
    render_json(empty, Rows{{{"id", "ID"}}, {}}, Shape::List);
    CHECK(empty.str() == "[]\n");
}

TEST_CASE("rows: tables align by display width") {
    Rows rows;
    rows.columns = {{"name", "NAME"}, {"id", "ID"}};
    rows.add({std::string("折り返し"), std::int64_t{1}});
    rows.add({std::string("ab"), std::int64_t{22}});
    std::ostringstream out;
    render_table(out, rows, Shape::List, Style{});
    CHECK(out.str() == "NAME      ID\n折り返し  1\nab        22\n");
}

TEST_CASE("rows: a record prints one field per line") {
    Rows rows;
    rows.columns = {{"id", "ID"}, {"name", "NAME"}};
    rows.add({std::int64_t{7}, std::string("Sale")});
    std::ostringstream out;
    render_table(out, rows, Shape::Record, Style{});
    CHECK(out.str() == "ID    7\nNAME  Sale\n");
    std::ostringstream json;
    render_json(json, rows, Shape::Record);
    CHECK(json.str() == "{\n  \"id\": 7,\n  \"name\": \"Sale\"\n}\n");
}
