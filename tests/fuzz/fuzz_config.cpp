// libFuzzer target: the configuration file reader must turn any bytes into a
// checked file or a nimbus::Error, never a crash or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nimbus/config/config.hpp>
#include <nimbus/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        nimbus::config::check_form(text, "fuzz.toml");
    } catch (const nimbus::Error&) {
        // Rejected cleanly.
    }
    return 0;
}
