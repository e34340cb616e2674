#include <string>

#include <doctest/doctest.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>

using namespace nimbus;

namespace {

ErrorKind kind_of(auto&& call) {
    try {
        call();
    } catch (const Error& e) {
        return e.kind();
    }
    return ErrorKind::Internal;
}

} // namespace

TEST_CASE("names: cleaned to NFC and trimmed") {
    CHECK(names::clean_name("  Sale ", "code name") == "Sale");
    CHECK(names::clean_name("Ru\xCC\x88"
                            "ckruf",
                            "code name") == "Rückruf");
    CHECK(names::clean_name("折り返し", "code name") == "折り返し");
}

TEST_CASE("names: 1 to 64 characters, counted in code points") {
    CHECK(names::clean_name(std::string(64, 'x'), "code name").size() == 64);
    std::string umlauts;
    for (int i = 0; i < 64; ++i) {
        umlauts += "ü"; // 128 bytes, 64 characters
    }
    CHECK(names::clean_name(umlauts, "code name") == umlauts);
    CHECK(kind_of([] { names::clean_name(std::string(65, 'x'), "code name"); }) ==
          ErrorKind::InvalidData);
    CHECK(kind_of([] { names::clean_name("   ", "code name"); }) == ErrorKind::InvalidData);
}

TEST_CASE("names: control characters and broken UTF-8 are refused") {
    CHECK(kind_of([] { names::clean_name("Sa\nle", "code name"); }) == ErrorKind::InvalidData);
    CHECK(kind_of([] { names::clean_name("Sa\x1Ble", "code name"); }) == ErrorKind::InvalidData);
    CHECK(kind_of([] { names::clean_name("Sa\xC3", "code name"); }) == ErrorKind::InvalidData);
}

TEST_CASE("names: descriptions allow empty, refuse more than 500 characters") {
    CHECK(names::clean_description("").empty());
    CHECK(names::clean_description(std::string(500, 'd')).size() == 500);
    CHECK(kind_of([] { names::clean_description(std::string(501, 'd')); }) ==
          ErrorKind::InvalidData);
}

TEST_CASE("names: OU paths") {
    CHECK(names::clean_ou_path(" Contoso / Sales ") == "Contoso/Sales");
    CHECK(kind_of([] { names::clean_ou_path("Contoso//Sales"); }) == ErrorKind::InvalidData);
    CHECK(kind_of([] { names::clean_ou_path("/Contoso"); }) == ErrorKind::InvalidData);
    CHECK(kind_of([] { names::clean_ou_path("Contoso/"); }) == ErrorKind::InvalidData);
    CHECK(names::ou_parent("Contoso/Sales/EMEA") == "Contoso/Sales");
    CHECK(names::ou_parent("Contoso").empty());
    CHECK(names::ou_leaf("Contoso/Sales") == "Sales");
}

TEST_CASE("names: subtree test is by whole components") {
    CHECK(names::ou_within("contoso/sales", "contoso"));
    CHECK(names::ou_within("contoso/sales", "contoso/sales"));
    CHECK_FALSE(names::ou_within("contoso/salesforce", "contoso/sales"));
    CHECK_FALSE(names::ou_within("contoso", "contoso/sales"));
}

TEST_CASE("names: new names have no invisible characters, dots or id: prefix") {
    CHECK(names::clean_new_name(" Sale ", "code name") == "Sale");
    CHECK(names::clean_new_name("idea", "code name") == "idea");
    CHECK(names::clean_new_name("id 1", "code name") == "id 1");
    CHECK(names::clean_new_name("...", "OU name") == "...");
    for (const char* refused :
         {"Sa\xC2\xADle", "Sale\xEF\xB8\x8F",
          "a\xE2\x80\x8D"
          "b",
          "\xE3\x85\xA4", "id:1", "ID:1", "iD:Sale", ".", "..", " .. ", "Sale\xFF"}) {
        CAPTURE(refused);
        CHECK(kind_of([&] { names::clean_new_name(refused, "code name"); }) ==
              ErrorKind::InvalidData);
    }
    CHECK_THROWS_WITH(names::clean_new_name("Sa\xC2\xADle", "code name"),
                      "code name contains the invisible character U+00AD");
    CHECK_THROWS_WITH(names::clean_new_name("mia\xFF", "OU name"),
                      "OU name is not valid UTF-8 (byte 4 is 0xFF)");
    // Looking up is not creating: names stored before these rules stay reachable.
    CHECK(names::clean_name("Sa\xC2\xADle", "code name") == "Sa\xC2\xADle");
}

TEST_CASE("names: references are refused when not UTF-8, never cut") {
    CHECK(names::clean_reference(" Sale ", "code name") == "Sale");
    CHECK(names::clean_reference("  ", "code name").empty());
    CHECK_THROWS_WITH(names::clean_reference("Sale\xFF", "code name"),
                      "code name is not valid UTF-8 (byte 5 is 0xFF)");
}

TEST_CASE("names: look-alikes") {
    CHECK(names::look_alike("Sale", "S\xD0\xB0le")); // Cyrillic а
    CHECK(names::look_alike("Sale", "\xEF\xBC\xB3"
                                    "ale"));         // fullwidth Ｓ
    CHECK(names::look_alike("Sale", "s\xD0\xB0le")); // and another case
    CHECK(names::look_alike("Level 1", "Level l"));  // TR39: 1 and l
    CHECK_FALSE(names::look_alike("Sale", "SALE"));  // one name
    CHECK_FALSE(names::look_alike("Sale", "Sales"));
    CHECK_FALSE(names::look_alike("Rückruf", "Ruckruf"));
}

TEST_CASE("names: dot components") {
    CHECK(names::has_dot_component("Contoso/../Sales"));
    CHECK(names::has_dot_component("Contoso/."));
    CHECK_FALSE(names::has_dot_component("Contoso/.hidden/..."));
}
