// libFuzzer target: the session import reader (CSV and JSON Lines) must turn any
// bytes into rows or row errors, never a crash or undefined behaviour. The first
// byte picks the format.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include <nimbus/error.hpp>
#include <nimbus/sessions/rows.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto format = (data[0] & 1) != 0 ? nimbus::sessions::InputFormat::JsonLines
                                           : nimbus::sessions::InputFormat::Csv;
    std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
    try {
        const auto reader = nimbus::sessions::RowReader::open(in, format, "fuzz");
        nimbus::sessions::RawRow row;
        std::size_t last_line = 0;
        while (reader->next(row)) {
            if (row.line <= last_line) {
                __builtin_trap(); // lines only ever move forward
            }
            last_line = row.line;
        }
    } catch (const nimbus::Error&) {
        // A header without the required columns: rejected cleanly.
    }
    return 0;
}
