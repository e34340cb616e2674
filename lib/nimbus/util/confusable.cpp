#include <nimbus/util/confusable.hpp>

#include <dlfcn.h>

#include <map>
#include <mutex>
#include <vector>

#include <unicode/uspoof.h>
#include <unicode/uvernum.h>
#include <fmt/format.h>

#include <nimbus/error.hpp>

namespace nimbus::text {
namespace {

// ICU renames its functions per version (uspoof_open is uspoof_open_72): the
// header's macros give the names this program was compiled against.
#define NIMBUS_ICU_STRING(name) #name
#define NIMBUS_ICU_SYMBOL(name) NIMBUS_ICU_STRING(name)

/// The library's soname: the ABI this program was compiled against.
constexpr const char* library = "libicui18n.so." U_ICU_VERSION_SHORT;

struct Icu {
    decltype(&::uspoof_open) open = nullptr;
    decltype(&::uspoof_getSkeletonUTF8) get_skeleton = nullptr;
    USpoofChecker* checker = nullptr;
};

template <class Function>
void load_symbol(void* handle, Function& function, const char* name) {
    // dlsym gives an object pointer; POSIX guarantees it converts to a function pointer.
    function = reinterpret_cast<Function>(dlsym(handle, name));
    if (function == nullptr) {
        throw Error(ErrorKind::Config, fmt::format("{} lacks {}", library, name),
                    fmt::format("install libicu{}", U_ICU_VERSION_SHORT));
    }
}

Icu load() {
    void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        throw Error(ErrorKind::Config,
                    fmt::format("comparing names needs ICU, which cannot be loaded: {}", dlerror()),
                    fmt::format("install it (apt-get install libicu{})", U_ICU_VERSION_SHORT));
    }
    Icu icu;
    load_symbol(handle, icu.open, NIMBUS_ICU_SYMBOL(uspoof_open));
    load_symbol(handle, icu.get_skeleton, NIMBUS_ICU_SYMBOL(uspoof_getSkeletonUTF8));
    UErrorCode status = U_ZERO_ERROR;
    icu.checker = icu.open(&status);
    if (U_FAILURE(status) || icu.checker == nullptr) {
        throw Error(ErrorKind::Config,
                    fmt::format("ICU's spoof checker cannot be opened (error {})",
                                static_cast<int>(status)),
                    fmt::format("reinstall libicu{}", U_ICU_VERSION_SHORT));
    }
    // The library and the checker stay for the life of the process.
    return icu;
}

const Icu& icu() {
    static const Icu loaded = load();
    return loaded;
}

std::string compute(std::string_view s) {
    const Icu& api = icu();
    std::vector<char> buffer(s.size() * 4 + 16);
    for (int attempt = 0; attempt < 2; ++attempt) {
        UErrorCode status = U_ZERO_ERROR;
        const int32_t length =
            api.get_skeleton(api.checker, 0, s.data(), static_cast<int32_t>(s.size()),
                             buffer.data(), static_cast<int32_t>(buffer.size()), &status);
        if (status == U_BUFFER_OVERFLOW_ERROR) {
            buffer.resize(static_cast<std::size_t>(length) + 1);
            continue;
        }
        if (U_FAILURE(status)) {
            throw Error(ErrorKind::Internal, fmt::format("ICU cannot compute a skeleton (error {})",
                                                         static_cast<int>(status)));
        }
        return std::string(buffer.data(), static_cast<std::size_t>(length));
    }
    throw Error(ErrorKind::Internal, "ICU's skeleton kept growing");
}

} // namespace

std::string skeleton(std::string_view s) {
    // A command compares one new name with each existing one, and a
    // configuration file names hundreds: each text is computed once.
    static std::mutex mutex;
    static std::map<std::string, std::string, std::less<>> cache;
    const std::lock_guard lock(mutex);
    if (const auto known = cache.find(s); known != cache.end()) {
        return known->second;
    }
    std::string result = compute(s);
    if (cache.size() < 100'000) {
        cache.emplace(std::string(s), result);
    }
    return result;
}

} // namespace nimbus::text
