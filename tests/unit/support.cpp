#include "support.hpp"

#include <cstdlib>
#include <random>

#include <nimbus/catalogue/ous.hpp>

namespace nimbus::test {

TempDir::TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("nimbus-unit-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

TempStore::TempStore() {
    const store::Locator locator{store::Engine::Sqlite, path};
    store = store::initialise_store(locator, {}, [](store::WriteTransaction& tx, int) {
                AuditTrail audit(tx, "admin", std::nullopt, test_time());
                ous::create_tenant(tx, audit, "Contoso");
            }).store;
}

Timestamp test_time() {
    return *timefmt::parse_timestamp("2026-11-26T09:30:00Z");
}

const char* test_identity_text() {
    return R"(
[users.admin]
name = "Ada Admin"
tenant_admin = true

[users.sales]
name = "Sam Sales"
ou_admin = ["Contoso/Sales"]

[users.owner]
name = "Olga Owner"
owner = ["Hotline"]

[users.agent]
name = "Ali Agent"
member = ["Hotline"]
)";
}

identity::Identity test_identity() {
    return identity::parse_identity(test_identity_text(), "test.toml");
}

} // namespace nimbus::test
