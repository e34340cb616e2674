#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nimbus/identity/actor.hpp>
#include <nimbus/store/open.hpp>
#include <nimbus/util/time.hpp>

/// Moving a team between engines: a whole store copied, ids and all.
namespace nimbus::copy {

struct TableCount {
    std::string table;
    std::int64_t rows = 0;
};

struct CopyReport {
    std::string from; ///< the source's location
    std::string to;   ///< the destination's location
    int schema_version = 0;
    std::vector<TableCount> tables; ///< rows copied, per table, in copy order
    std::int64_t report_rows = 0;   ///< rows of the usage reports compared
};

/// Copies every row of the store at `from` (which must be initialised and
/// current) into the store at `to`, which must hold no rows: nothing there, an
/// empty file or database (its schema is then created), or a schema without
/// rows. The source is read in one transaction that holds its write lock
/// (other writers wait, then exit 75) and changes nothing; the destination is
/// written in one transaction, which commits only after checking that it holds exactly the
/// source's rows (table by table, by SHA-256) and gives the same usage reports
/// (by month, service and code; by month, service and tag). The copy is
/// recorded in the destination's audit trail. If anything fails, the
/// destination is as it was (a file made for it is removed).
CopyReport copy_store(const store::Locator& from, const store::Locator& to,
                      const store::StoreOptions& options, const Actor& actor, Timestamp now);

} // namespace nimbus::copy
