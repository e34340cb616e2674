// libFuzzer target: the identity file loader must turn any bytes into either
// an Identity or a nimbus::Error, never a crash, an abort or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nimbus/error.hpp>
#include <nimbus/identity/identity.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        nimbus::identity::parse_identity(text, "fuzz.toml");
    } catch (const nimbus::Error&) {
        // Rejected cleanly: what the loader promises for malformed input.
    }
    return 0;
}
