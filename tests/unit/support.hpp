#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/store/open.hpp>

namespace nimbus::test {

/// A temporary folder, removed with everything in it when the test ends.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// A fresh initialised store with tenant root "Contoso" in a temporary folder.
struct TempStore {
    TempDir dir;
    std::string path = (dir.path() / "store.db").string();
    std::unique_ptr<store::Store> store;

    TempStore();
};

/// A fixed point in time for tests.
Timestamp test_time();

/// An identity with a tenant admin "admin", an OU admin "sales" of
/// Contoso/Sales, an owner "owner" of Hotline and a member "agent" of Hotline.
identity::Identity test_identity();
/// The same identity as the text of an identity file.
const char* test_identity_text();

} // namespace nimbus::test
