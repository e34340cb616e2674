#include <nimbus/copy/store_copy.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/audit/trail.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/roster.hpp>
#include <nimbus/reports/usage.hpp>
#include <nimbus/store/guards.hpp>
#include <nimbus/store/record_hash.hpp>

namespace nimbus::copy {
namespace {

/// What a table holds: its row count and a SHA-256 of its rows in key order.
struct TableDigest {
    std::string table;
    std::int64_t rows = 0;
    store::Digest digest{};
};

/// Digests rows as they stream past, one table after another.
class Digests {
public:
    void add(const store::StoredRow& row) {
        if (tables_.empty() || tables_.back().table != row.table) {
            finish();
            tables_.push_back(TableDigest{std::string(row.table)});
            finished_ = false;
        }
        ++tables_.back().rows;
        hasher_.add_values(row.values);
    }

    /// The digests of every table seen, the last one finished.
    const std::vector<TableDigest>& tables() {
        finish();
        return tables_;
    }

private:
    void finish() {
        if (!tables_.empty() && !finished_) {
            tables_.back().digest = hasher_.finish();
        }
        finished_ = !tables_.empty();
    }

    std::vector<TableDigest> tables_;
    store::RowHasher hasher_;
    bool finished_ = false;
};

bool same_store(const store::Locator& a, const store::Locator& b) {
    if (a.engine != b.engine) {
        return false;
    }
    if (a.engine == store::Engine::Postgresql) {
        return a.target == b.target;
    }
    std::error_code ec;
    return std::filesystem::weakly_canonical(a.target, ec) ==
           std::filesystem::weakly_canonical(b.target, ec);
}

void require_empty(store::ReadTransaction& tx, const std::string& location) {
    tx.each_stored_row([&](const store::StoredRow& row) {
        throw Error(
            ErrorKind::Conflict,
            fmt::format("store {} is not empty: its table {} holds rows", location, row.table),
            "copy into a new file, or into an empty database (dropdb and createdb)");
    });
}

/// The first and last day (UTC) on which a stored session started, if any.
std::optional<std::pair<CivilDate, CivilDate>> session_days(store::ReadTransaction& tx) {
    store::UsageQuery query;
    for (const Service& service : tx.services()) {
        query.service_ids.push_back(service.id);
    }
    query.from = Timestamp{std::chrono::seconds{std::numeric_limits<std::int32_t>::min()}};
    query.to = Timestamp{std::chrono::seconds{std::int64_t{1} << 40}};
    query.offsets = {OffsetSpan{query.to, 0}};
    query.by_day = true;
    std::optional<std::pair<std::int64_t, std::int64_t>> days;
    tx.each_session_count(query, [&](const store::SessionCount& count) {
        days = days ? std::pair{std::min(days->first, count.day), std::max(days->second, count.day)}
                    : std::pair{count.day, count.day};
    });
    if (!days) {
        return std::nullopt;
    }
    return std::pair{CivilDate::from_day_number(days->first),
                     CivilDate::from_day_number(days->second)};
}

/// The usage reports that `store copy` compares, as CSV, with their row count.
std::pair<std::string, std::int64_t> usage_reports(store::ReadTransaction& tx, const Actor& actor,
                                                   Timestamp now) {
    const auto days = session_days(tx);
    if (!days) {
        return {};
    }
    std::ostringstream out;
    std::int64_t rows = 0;
    using reports::Dimension;
    for (const auto& by : {std::vector{Dimension::Month, Dimension::Service, Dimension::Code},
                           std::vector{Dimension::Month, Dimension::Service, Dimension::Tag}}) {
        reports::UsageRequest request;
        request.period.from = days->first.text();
        request.period.to = days->second.text();
        request.by = by;
        // Whole stores are compared, whatever their size and whatever odd
        // times they hold: no row limit, no bounds on the period. No --user,
        // so no identity is needed.
        request.max_rows = std::numeric_limits<std::size_t>::max();
        request.plausible_period = false;
        const reports::UsageReport report =
            reports::usage(tx, actor, identity::Identity{}, request, now);
        output::render_csv(out, report.rows);
        output::render_csv(out, report.summary_rows());
        rows += static_cast<std::int64_t>(report.rows.rows.size());
    }
    return {out.str(), rows};
}

void verify(const std::vector<TableDigest>& source, const std::vector<TableDigest>& copied,
            const std::string& to) {
    for (const TableDigest& table : source) {
        const auto match = std::find_if(copied.begin(), copied.end(), [&](const TableDigest& c) {
            return c.table == table.table;
        });
        const std::int64_t rows = match == copied.end() ? 0 : match->rows;
        if (rows != table.rows) {
            throw Error(ErrorKind::Internal,
                        fmt::format("the copy in {} differs from its source in table {}: {} rows "
                                    "instead of {}; nothing was kept",
                                    to, table.table, rows, table.rows));
        }
        if (match->digest != table.digest) {
            throw Error(ErrorKind::Internal,
                        fmt::format("the copy in {} differs from its source in table {}: the "
                                    "same {} rows, other values; nothing was kept",
                                    to, table.table, rows));
        }
    }
    if (copied.size() != source.size()) {
        throw Error(
            ErrorKind::Internal,
            fmt::format("the copy in {} holds rows its source does not; nothing was kept", to));
    }
}

/// Removes a SQLite file (and its companions) that a failed copy created.
void remove_created(const store::Locator& to) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::filesystem::remove(to.target + suffix, ec);
    }
}

/// Rethrows the exception being handled. Two URIs may name one database
/// (localhost and 127.0.0.1): the destination then waits for the lock its
/// source holds, and the timeout says so.
[[noreturn]] void rethrow_explained(const store::Locator& from, const store::Locator& to) {
    try {
        throw;
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Busy && from.engine == store::Engine::Postgresql &&
            to.engine == store::Engine::Postgresql) {
            throw Error(ErrorKind::Busy, e.what(),
                        "retry; if --from and --to name the same database in two ways, the "
                        "copy is waiting for its own source's lock: name two stores");
        }
        throw;
    }
}

/// Inserts every row of `source` into `tx`, then checks that `tx` holds
/// exactly those rows. Gives the rows per table.
std::vector<TableCount> copy_rows(store::ReadTransaction& source, store::WriteTransaction& tx,
                                  const std::string& to) {
    Digests source_rows;
    source.each_stored_row([&](const store::StoredRow& row) {
        source_rows.add(row);
        tx.insert_stored_row(row);
    });
    tx.stored_rows_inserted();
    Digests copied_rows;
    tx.each_stored_row([&](const store::StoredRow& row) { copied_rows.add(row); });
    verify(source_rows.tables(), copied_rows.tables(), to);

    std::vector<TableCount> tables;
    for (const TableDigest& table : source_rows.tables()) {
        tables.push_back(TableCount{table.table, table.rows});
    }
    return tables;
}

/// Checks that the copy gives the source's usage reports; gives their rows.
std::int64_t compare_reports(store::ReadTransaction& source, store::ReadTransaction& copy,
                             const Actor& actor, Timestamp now, const std::string& to) {
    const auto [expected, rows] = usage_reports(source, actor, now);
    if (usage_reports(copy, actor, now).first != expected) {
        throw Error(ErrorKind::Internal,
                    fmt::format("the usage reports of the copy in {} differ from its source's; "
                                "nothing was kept",
                                to));
    }
    return rows;
}

/// The copy's record in the destination's audit trail.
void record_copy(store::WriteTransaction& tx, const Actor& actor, Timestamp now,
                 const CopyReport& report) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::object();
    for (const TableCount& table : report.tables) {
        rows[table.table] = table.rows;
    }
    const std::optional<Ou> root = tx.root_ou();
    AuditTrail(tx, actor, now)
        .record("store.copy", report.from, root ? std::optional(root->id) : std::nullopt, nullptr,
                {{"from", report.from}, {"rows", rows}});
}

} // namespace

CopyReport copy_store(const store::Locator& from, const store::Locator& to,
                      const store::StoreOptions& options, const Actor& actor, Timestamp now) {
    if (same_store(from, to)) {
        throw Error(ErrorKind::Usage, "the source and the destination are the same store");
    }
    const auto source = store::open_store(from, options);
    // The source's write lock, held until the copy has committed and never
    // committed itself: no conclusion can land in the source after the copy's
    // snapshot and be left behind.
    const auto read = source->begin_write();
    // A server that enforces a roster has writers that take no lock
    // (schema/postgresql/0009), so nothing would keep their records from
    // landing after the copy's snapshot.
    if (const auto server = read->server_caller(); server && server->enforced) {
        throw Error(ErrorKind::Config,
                    fmt::format("store {} enforces a roster: its writers take no lock that a "
                                "copy could hold, so the copy could leave their latest records "
                                "behind",
                                source->location()),
                    "move a PostgreSQL store with pg_dump and pg_restore, which keep its roster "
                    "and policies too (docs/postgresql.md)");
    }

    CopyReport report;
    report.from = source->location();
    const bool created = to.engine == store::Engine::Sqlite && !store::store_exists(to);
    try {
        const store::InitReport init =
            store::initialise_store(to, options, [&](store::WriteTransaction& tx, int) {
                // A destination prepared without its guards would take the
                // records and keep none of them permanent.
                store::require_guards(tx.guards(), to.engine, to.target);
                require_empty(tx, to.target);
                report.tables = copy_rows(*read, tx, to.target);
                report.report_rows = compare_reports(*read, tx, actor, now, to.target);
                // A PostgreSQL trigger can change the schema it fires in.
                store::require_guards(tx.guards(), to.engine, to.target);
                // The role table a server enforces, as init stores it.
                tx.replace_role_rules(roster::role_rules());
                record_copy(tx, actor, now, report);
            });
        report.to = init.store->location();
        report.schema_version = init.version;
    } catch (...) {
        if (created) {
            remove_created(to);
        }
        rethrow_explained(from, to);
    }
    return report;
}

} // namespace nimbus::copy
