#pragma once

#include <memory>
#include <string>

#include <nimbus/store/open.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::store {

/// The server backend: a PostgreSQL database shared by agents on many hosts.
/// `uri` is a libpq connection URI without a password.
std::unique_ptr<Store> open_postgresql_store(const std::string& uri, const StoreOptions& options);
InitReport initialise_postgresql_store(const std::string& uri, const StoreOptions& options,
                                       const Seed& seed);

/// Refuses a URI that libpq cannot read or that carries a password (Usage).
void check_postgresql_uri(const std::string& uri);

} // namespace nimbus::store
