#include <nimbus/store/postgresql/libpq.hpp>

#include <dlfcn.h>

#include <fmt/format.h>

#include <nimbus/error.hpp>

namespace nimbus::store::libpq {
namespace {

/// The library's soname: the ABI this program was compiled against.
constexpr const char* library = "libpq.so.5";

Api load() {
    void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        throw Error(
            ErrorKind::Config,
            fmt::format("PostgreSQL stores need libpq, which cannot be loaded: {}", dlerror()),
            "install it (apt-get install libpq5), or use a SQLite store");
    }
    Api api;
    // dlsym gives an object pointer; POSIX guarantees it converts to a function pointer.
#define NIMBUS_LIBPQ_LOAD(name)                                                                    \
    api.name = reinterpret_cast<decltype(api.name)>(dlsym(handle, #name));                         \
    if (api.name == nullptr) {                                                                     \
        throw Error(ErrorKind::Config, fmt::format("{} lacks {}: it is too old", library, #name),  \
                    "install libpq5 from PostgreSQL 14 or newer");                                 \
    }
    NIMBUS_LIBPQ_FUNCTIONS(NIMBUS_LIBPQ_LOAD)
#undef NIMBUS_LIBPQ_LOAD
    // The library stays loaded for the life of the process.
    return api;
}

} // namespace

const Api& api() {
    static const Api loaded = load();
    return loaded;
}

} // namespace nimbus::store::libpq
