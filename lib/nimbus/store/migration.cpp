#include <nimbus/store/migration.hpp>

#include <fmt/format.h>

#include <nimbus/error.hpp>

namespace nimbus::store {

int current_schema_version() {
    return sqlite_migrations().back().version;
}

void refuse_newer_schema(const std::string& location, int version, int latest) {
    if (version > latest) {
        throw Error(ErrorKind::Config,
                    fmt::format("store {} has schema version {}, newer than this nimbus-codes "
                                "understands ({})",
                                location, version, latest),
                    "upgrade nimbus-codes; the store was left untouched");
    }
}

void require_current_schema(const std::string& location, bool initialised, int version,
                            int latest) {
    if (!initialised) {
        throw Error(ErrorKind::InputMissing, fmt::format("store {} is not initialised", location),
                    "initialise it with 'nimbus-codes init'");
    }
    if (version < latest) {
        throw Error(ErrorKind::Config,
                    fmt::format("store {} has schema version {}; this nimbus-codes needs {}",
                                location, version, latest),
                    "upgrade the store with 'nimbus-codes init'");
    }
}

} // namespace nimbus::store
