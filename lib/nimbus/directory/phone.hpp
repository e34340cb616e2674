#pragma once

#include <string>
#include <string_view>
#include <variant>

/// Phone numbers as one form, E.164, so that "+41 44 668 18 00", "044 668 18
/// 00" and "+41446681800" are one caller. The work is libphonenumber's, which
/// this program loads from its module (nimbus-codes-phone.so, in the folder
/// set_module_folder names) at the first call rather than links: linked,
/// libphonenumber and the libraries it needs (protobuf, abseil, ICU) would add
/// about 2 ms to every start of the program, for the few commands that
/// compare numbers.
namespace nimbus::phone {

/// Where the program's modules are, an absolute path: the program says it
/// before any number is compared (cmd/main.cpp, from how it was built).
void set_module_folder(std::string folder);

/// Why a text is not a phone number.
enum class Problem {
    NotANumber,
    NeedsCountry, ///< a national form, and no country to read it in
    TooShort,
    TooLong,
};

/// "is too short to be a phone number", for messages.
std::string describe(Problem problem);

/// The E.164 form of `text` ("+41446681800"), reading a national form as a
/// number of `country` (ISO 3166 alpha-2 such as "CH", or empty for none), or
/// why it is none. Throws Config when the module cannot be loaded.
std::variant<std::string, Problem> normalise(std::string_view text, std::string_view country);

/// True for an ISO 3166 alpha-2 code that has a calling code ("CH", "US").
bool is_country(std::string_view country);

} // namespace nimbus::phone
