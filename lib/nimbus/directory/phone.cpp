#include <nimbus/directory/phone.hpp>

#include <dlfcn.h>

#include <array>

#include <fmt/format.h>

#include <nimbus/directory/phone_module.h>
#include <nimbus/error.hpp>
#include <nimbus/util/privilege.hpp>

namespace nimbus::phone {
namespace {

constexpr const char* module_name = "nimbus-codes-phone.so";

std::string& module_folder() {
    static std::string folder;
    return folder;
}

struct Module {
    decltype(&::nimbus_phone_normalise) normalise = nullptr;
    decltype(&::nimbus_phone_country_code) country_code = nullptr;
};

template <class Function>
void load_symbol(void* handle, Function& function, const char* name) {
    // dlsym gives an object pointer; POSIX guarantees it converts to a function pointer.
    function = reinterpret_cast<Function>(dlsym(handle, name));
    if (function == nullptr) {
        throw Error(ErrorKind::Config, fmt::format("{} lacks {}", module_name, name),
                    "reinstall nimbus-codes: the program and its module are of different builds");
    }
}

Module load() {
    // By its whole path: a name alone would be looked for along search paths
    // that the caller's environment can change.
    if (module_folder().empty() || module_folder().front() != '/') {
        throw Error(ErrorKind::Internal, "the folder of the program's modules is not known");
    }
    std::string path = module_folder() + "/" + module_name;
    if (privilege::elevated()) {
        // With the rights of the binary's group, code that its caller could
        // change must never run: only a module root alone can change is loaded.
        path = privilege::require_root_owned_file(path, "the phone-number module");
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        throw Error(ErrorKind::Config,
                    fmt::format("comparing phone numbers needs {}, which cannot be loaded: {}",
                                module_name, dlerror()),
                    "install nimbus-codes whole (its module, and libphonenumber8)");
    }
    decltype(&::nimbus_phone_interface_version) version = nullptr;
    load_symbol(handle, version, "nimbus_phone_interface_version");
    if (version() != NIMBUS_PHONE_INTERFACE) {
        throw Error(ErrorKind::Config,
                    fmt::format("{} has interface {}; this program needs {}", module_name,
                                version(), NIMBUS_PHONE_INTERFACE),
                    "reinstall nimbus-codes: the program and its module are of different builds");
    }
    Module module;
    load_symbol(handle, module.normalise, "nimbus_phone_normalise");
    load_symbol(handle, module.country_code, "nimbus_phone_country_code");
    // The module stays for the life of the process.
    return module;
}

const Module& module() {
    static const Module loaded = load();
    return loaded;
}

} // namespace

void set_module_folder(std::string folder) {
    module_folder() = std::move(folder);
}

std::string describe(Problem problem) {
    switch (problem) {
    case Problem::NotANumber: return "is not a phone number";
    case Problem::NeedsCountry:
        return "is a national number, and no country is known to read it in";
    case Problem::TooShort: return "is too short to be a phone number";
    case Problem::TooLong: return "is too long to be a phone number";
    }
    return "is not a phone number";
}

std::variant<std::string, Problem> normalise(std::string_view text, std::string_view country) {
    // libphonenumber reads at most 250 characters; longer text is no number.
    constexpr std::size_t longest = 250;
    if (text.size() > longest || text.find('\0') != std::string_view::npos) {
        return Problem::NotANumber;
    }
    const std::string given(text);
    const std::string region(country);
    std::array<char, 32> e164{}; // E.164 has at most 15 digits and a '+'
    switch (module().normalise(given.c_str(), region.c_str(), e164.data(), e164.size())) {
    case NIMBUS_PHONE_OK: return std::string(e164.data());
    case NIMBUS_PHONE_NEEDS_COUNTRY: return Problem::NeedsCountry;
    case NIMBUS_PHONE_TOO_SHORT: return Problem::TooShort;
    case NIMBUS_PHONE_TOO_LONG: return Problem::TooLong;
    default: return Problem::NotANumber;
    }
}

bool is_country(std::string_view country) {
    if (country.size() != 2) {
        return false;
    }
    const std::string region(country);
    return module().country_code(region.c_str()) != 0;
}

} // namespace nimbus::phone
