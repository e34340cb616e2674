// The ledger (schema/sqlite/0007_ledger.sql): how each permanent record is
// read as rows, hashed and chained, and how the chain is read back.

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/store/record_hash.hpp>
#include <nimbus/store/sql/sql_transaction.hpp>
#include <nimbus/store/sql/tables.hpp>
#include <nimbus/util/time.hpp>

namespace nimbus::store::sql {
namespace {

std::string_view kind_name(LedgerKind kind) {
    switch (kind) {
    case LedgerKind::Conclusion: return "conclusion";
    case LedgerKind::Completion: return "completion";
    case LedgerKind::Audit: return "audit";
    }
    return "audit";
}

LedgerKind kind_from_name(std::string_view name) {
    for (const LedgerKind kind : {LedgerKind::Conclusion, LedgerKind::Completion}) {
        if (kind_name(kind) == name) {
            return kind;
        }
    }
    return LedgerKind::Audit; // the table's CHECK allows nothing else
}

/// The rows of one table that belong to a record, in its canonical form.
struct RecordPart {
    std::string_view label;           ///< the name hashed before each row
    std::string_view table;           ///< where the rows are
    std::string_view id_column;       ///< the column that holds the record's id
    std::vector<std::string> columns; ///< SQL over the alias t, in canonical order
    /// The same, as they read while the record is being chained (see
    /// end_at_conclusion): the plain columns.
    std::vector<std::string> columns_when_chained;
    std::vector<Kind> kinds;
    std::string_view order; ///< ", t.\"position\"" when a record has several rows here
    bool anchor = false;    ///< without this row, the record is gone
    std::string only_if;    ///< SQL over t: the rows of the table that belong to the record
};

/// Every column of a stored table but the record's id, in the table's order
/// (tables.cpp), some read through an expression instead.
RecordPart whole_table(std::string_view table, std::string_view id_column, bool anchor,
                       std::string_view order = "",
                       const std::map<std::string_view, std::string>& instead = {}) {
    RecordPart part{table, table, id_column, {}, {}, {}, order, anchor, {}};
    for (const Column& column : stored_table(table).columns) {
        if (column.name == id_column) {
            continue; // the entry names the record: the same content under another id is moved
        }
        const auto replaced = instead.find(column.name);
        const std::string plain = fmt::format("t.\"{}\"", column.name);
        part.columns.push_back(replaced != instead.end() ? replaced->second : plain);
        part.columns_when_chained.push_back(plain);
        part.kinds.push_back(column.kind);
    }
    return part;
}

/// Whether the session `t.{id_column}` has a completion entry: its end
/// arrived after it was concluded.
std::string completed_later(std::string_view id_column) {
    return fmt::format("(EXISTS (SELECT 1 FROM ledger e WHERE e.kind = 'completion' AND "
                       "e.record_id = t.\"{0}\") OR EXISTS (SELECT 1 FROM ledger_pending e WHERE "
                       "e.kind = 'completion' AND e.record_id = t.\"{0}\"))",
                       id_column);
}

RecordPart with_only_if(RecordPart part, std::string condition) {
    part.only_if = std::move(condition);
    return part;
}

/// A session's end as it stood when it was concluded: unknown (NULL) when
/// the end arrived later, as a completion entry of its own. While the
/// conclusion itself is being chained there is no such entry yet (a
/// completion is only chained for a concluded session), so the plain column
/// reads the same then, and costs the write no subquery.
std::string end_at_conclusion(std::string_view column) {
    return fmt::format("CASE WHEN {} THEN NULL ELSE t.\"{}\" END", completed_later("id"), column);
}

/// What each kind of record is made of. A column added to one of these
/// tables is part of the records from then on (and of `store copy`).
const std::vector<RecordPart>& record_parts(LedgerKind kind) {
    static const std::vector<RecordPart> conclusion = {
        whole_table("session", "id", false, "",
                    {{"ended_at", end_at_conclusion("ended_at")},
                     {"outcome", end_at_conclusion("outcome")}}),
        whole_table("conclusion", "session_id", true),
        // Only a sweep's conclusions have a row here: records chained before
        // schema 14, and every agent's, hash as they did.
        whole_table("conclusion_default", "session_id", false),
        whole_table("conclusion_code", "session_id", false, ", t.\"position\""),
        whole_table("conclusion_tag", "session_id", false, ", t.\"position\""),
        // A session without context has no rows here: records chained before
        // schema 11 hash as they did.
        whole_table("session_context", "session_id", false, ", t.\"field_id\""),
        // The call's times come with its end: part of the conclusion when the
        // end was known then, of the completion when it came later. Sessions
        // without times have no row, so records chained before schema 12 hash
        // as they did.
        with_only_if(whole_table("session_times", "session_id", false),
                     "NOT " + completed_later("session_id")),
    };
    static const std::vector<RecordPart> completion = {
        RecordPart{"completion",
                   "session",
                   "id",
                   {"t.ended_at", "t.outcome"},
                   {"t.ended_at", "t.outcome"},
                   {Kind::Integer, Kind::Text},
                   "",
                   true,
                   {}},
        whole_table("session_times", "session_id", false),
    };
    static const std::vector<RecordPart> audit = {whole_table("audit", "id", true)};
    switch (kind) {
    case LedgerKind::Conclusion: return conclusion;
    case LedgerKind::Completion: return completion;
    case LedgerKind::Audit: return audit;
    }
    return audit;
}

/// The rows of some records of one kind, by record id, in canonical order.
struct RecordRows {
    std::map<std::int64_t, std::vector<StoredRow>> rows;
    std::set<std::int64_t> anchored; ///< the records whose anchor row exists

    /// The record's hash, or nullopt when it is gone.
    std::optional<std::string> hash(std::int64_t id) const {
        if (!anchored.contains(id)) {
            return std::nullopt;
        }
        RowHasher hasher;
        for (const StoredRow& row : rows.at(id)) {
            hasher.add_row(row);
        }
        return to_hex(hasher.finish());
    }
};

/// The FROM and WHERE of a part's rows: {0} the table, {1} its id column,
/// {2} the kind's name. Each takes its parameters once per part.
constexpr const char* one_record = "FROM {0} t WHERE t.\"{1}\" = ?";
constexpr int one_record_parameters = 1;
constexpr const char* ledger_range = "FROM ledger l JOIN {0} t ON t.\"{1}\" = l.record_id "
                                     "WHERE l.kind = '{2}' AND l.position > ? AND l.position <= ?";
constexpr int ledger_range_parameters = 2;

/// One query for every part of the records of `kind`: the part's number, the
/// record's id, the row's order within the record, then the part's values as
/// text (padded with NULLs to the widest part), so that a record costs one
/// statement however many tables it spans. Rows come by record, in
/// canonical order. `when_chained`: as the record reads while it is chained.
std::string record_sql(LedgerKind kind, const char* from_where, bool when_chained) {
    const std::vector<RecordPart>& parts = record_parts(kind);
    std::size_t width = 0;
    for (const RecordPart& part : parts) {
        width = std::max(width, part.columns.size());
    }
    std::string sql;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const RecordPart& part = parts[i];
        const std::vector<std::string>& columns =
            when_chained ? part.columns_when_chained : part.columns;
        std::string values;
        for (std::size_t c = 0; c < width; ++c) {
            values += c < columns.size() ? fmt::format(", CAST({} AS TEXT)", columns[c])
                                         : std::string(", CAST(NULL AS TEXT)");
        }
        sql += fmt::format(
            "{}SELECT {} AS part, t.\"{}\" AS record, {} AS row_order{} {}{}",
            i == 0 ? "" : " UNION ALL ", i, part.id_column,
            part.order.empty() ? std::string("0") : std::string(part.order.substr(2)), values,
            fmt::format(fmt::runtime(from_where), part.table, part.id_column, kind_name(kind)),
            part.only_if.empty() ? std::string() : " AND " + part.only_if);
    }
    return sql + " ORDER BY 2, 1, 3";
}

/// Reads the records of `kind` that `q` selects (see record_sql).
RecordRows read_records(LedgerKind kind, Statement& q) {
    const std::vector<RecordPart>& parts = record_parts(kind);
    RecordRows records;
    while (q.step()) {
        const RecordPart& part = parts.at(static_cast<std::size_t>(q.integer(0)));
        const std::int64_t id = q.integer(1);
        StoredRow row{part.label, {}};
        for (std::size_t i = 0; i < part.kinds.size(); ++i) {
            row.values.push_back(read_value(q, static_cast<int>(i + 3), part.kinds[i]));
        }
        records.rows[id].push_back(std::move(row));
        if (part.anchor) {
            records.anchored.insert(id);
        }
    }
    q.reset();
    return records;
}

std::vector<LedgerEntry> read_entries(Statement& q) {
    std::vector<LedgerEntry> entries;
    while (q.step()) {
        entries.push_back(LedgerEntry{q.integer(0), kind_from_name(q.text(1)), q.integer(2),
                                      q.is_null(5) ? std::string() : q.text(5), q.text(3),
                                      q.text(4), std::nullopt});
    }
    q.reset();
    return entries;
}

} // namespace

Statement& SqlTransaction::cached_statement(const std::string& sql) {
    auto found = statements_.find(sql);
    if (found == statements_.end()) {
        found = statements_.emplace(sql, db_.prepare(sql)).first;
    }
    return *found->second;
}

LedgerHead SqlTransaction::ledger_head() {
    Statement& q =
        cached_statement("SELECT position, chain_hash FROM ledger ORDER BY position DESC LIMIT 1");
    LedgerHead head;
    if (q.step()) {
        head = LedgerHead{q.integer(0), q.text(1)};
    }
    q.reset();
    return head;
}

std::vector<LedgerEntry> SqlTransaction::ledger_entries(std::int64_t after, std::size_t limit,
                                                        bool recompute) {
    Statement& q = cached_statement(
        "SELECT l.position, l.kind, l.record_id, l.record_hash, l.chain_hash, s.external_id "
        "FROM ledger l LEFT JOIN session s ON l.kind <> 'audit' AND s.id = l.record_id "
        "WHERE l.position > ? ORDER BY l.position LIMIT ?");
    q.bind(1, after);
    q.bind(2, static_cast<std::int64_t>(limit));
    std::vector<LedgerEntry> entries = read_entries(q);
    if (!recompute || entries.empty()) {
        return entries;
    }
    // One query per part of each kind for the whole batch, not per record.
    std::map<LedgerKind, RecordRows> records;
    for (const LedgerKind kind :
         {LedgerKind::Conclusion, LedgerKind::Completion, LedgerKind::Audit}) {
        Statement& query = cached_statement(record_sql(kind, ledger_range, false));
        for (std::size_t part = 0; part < record_parts(kind).size(); ++part) {
            const int first = static_cast<int>(part) * ledger_range_parameters + 1;
            query.bind(first, after);
            query.bind(first + 1, entries.back().position);
        }
        records[kind] = read_records(kind, query);
    }
    for (LedgerEntry& entry : entries) {
        entry.recomputed_hash = records[entry.kind].hash(entry.record_id);
    }
    return entries;
}

std::int64_t SqlTransaction::pending_ledger_entries() {
    Statement& q = cached_statement("SELECT count(*) FROM ledger_pending");
    q.step();
    const std::int64_t pending = q.integer(0);
    q.reset();
    return pending;
}

std::vector<std::int64_t> SqlTransaction::ledger_positions_of(std::string_view record_hash) {
    Statement& q =
        cached_statement("SELECT position FROM ledger WHERE record_hash = ? ORDER BY position");
    q.bind(1, record_hash);
    std::vector<std::int64_t> positions;
    while (q.step()) {
        positions.push_back(q.integer(0));
    }
    q.reset();
    return positions;
}

std::optional<UnchainedRow> SqlTransaction::first_unchained_row() {
    struct Check {
        const char* table;
        const char* sql;
    };
    // The ledger is indexed by position only (an append writes nothing else),
    // so records are set against it whole: one sort, not a scan per record.
    static constexpr Check checks[] = {
        {"conclusion", "SELECT min(session_id) FROM (SELECT session_id FROM conclusion EXCEPT "
                       "SELECT record_id FROM ledger WHERE kind = 'conclusion' EXCEPT SELECT "
                       "record_id FROM ledger_pending WHERE kind = 'conclusion') x"},
        {"audit", "SELECT min(id) FROM (SELECT id FROM audit EXCEPT SELECT record_id FROM ledger "
                  "WHERE kind = 'audit' EXCEPT SELECT record_id FROM ledger_pending WHERE kind = "
                  "'audit') x"},
        {"conclusion_code", "SELECT min(session_id) FROM conclusion_code x WHERE NOT EXISTS "
                            "(SELECT 1 FROM conclusion c WHERE c.session_id = x.session_id)"},
        {"conclusion_tag", "SELECT min(session_id) FROM conclusion_tag x WHERE NOT EXISTS "
                           "(SELECT 1 FROM conclusion c WHERE c.session_id = x.session_id)"},
    };
    for (const Check& check : checks) {
        Statement& q = cached_statement(check.sql);
        std::optional<std::int64_t> id;
        if (q.step() && !q.is_null(0)) {
            id = q.integer(0);
        }
        q.reset();
        if (id) {
            Statement& session = cached_statement("SELECT external_id FROM session WHERE id = ?");
            session.bind(1, *id);
            UnchainedRow row{check.table, *id, {}};
            if (std::string_view(check.table) != "audit" && session.step()) {
                row.session = session.text(0);
            }
            session.reset();
            return row;
        }
    }
    return std::nullopt;
}

void SqlTransaction::chain(LedgerKind kind, std::int64_t record_id) {
    Statement& q = cached_statement(record_sql(kind, one_record, true));
    for (std::size_t part = 0; part < record_parts(kind).size(); ++part) {
        q.bind(static_cast<int>(part) * one_record_parameters + 1, record_id);
    }
    const RecordRows records = read_records(kind, q);
    const std::optional<std::string> record_hash = records.hash(record_id);
    if (!record_hash) {
        throw Error(ErrorKind::Internal,
                    fmt::format("the {} record {} to be chained is not in the store",
                                kind_name(kind), record_id));
    }
    append_entry(kind, record_id, *record_hash);
}

void SqlTransaction::chain_rows(LedgerKind kind, std::int64_t record_id,
                                const std::vector<StoredRow>& rows) {
    RowHasher hasher;
    for (const StoredRow& row : rows) {
        hasher.add_row(row);
    }
    append_entry(kind, record_id, to_hex(hasher.finish()));
}

void SqlTransaction::append_entry(LedgerKind kind, std::int64_t record_id,
                                  const std::string& record_hash) {
    if (pending_ledger_) {
        Statement& pending = cached_statement(
            "INSERT INTO ledger_pending (kind, record_id, record_hash) VALUES (?, ?, ?)");
        pending.bind(1, kind_name(kind));
        pending.bind(2, record_id);
        pending.bind(3, record_hash);
        pending.run();
        return;
    }
    if (!ledger_tail_) {
        ledger_tail_ = ledger_head();
    }
    const Digest previous =
        ledger_tail_->hash.empty() ? Digest{} : digest_from_hex(ledger_tail_->hash).value();
    const std::string chained = to_hex(chain_hash(previous, digest_from_hex(record_hash).value()));
    Statement& insert = cached_statement("INSERT INTO ledger (position, kind, record_id, "
                                         "record_hash, chain_hash) VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, ledger_tail_->records + 1);
    insert.bind(2, kind_name(kind));
    insert.bind(3, record_id);
    insert.bind(4, record_hash);
    insert.bind(5, chained);
    insert.run();
    ledger_tail_ = LedgerHead{ledger_tail_->records + 1, chained};
}

std::int64_t SqlTransaction::chain_unchained_records() {
    // (time, a conclusion before its command's audit record, id)
    std::vector<std::tuple<std::int64_t, int, std::int64_t>> records;
    const auto conclusions = db_.prepare(
        "SELECT session_id, concluded_at FROM conclusion WHERE session_id IN (SELECT session_id "
        "FROM conclusion EXCEPT SELECT record_id FROM ledger WHERE kind = 'conclusion')");
    while (conclusions->step()) {
        records.emplace_back(conclusions->integer(1), 0, conclusions->integer(0));
    }
    conclusions->reset();
    const auto audits = db_.prepare("SELECT id, at FROM audit WHERE id IN (SELECT id FROM audit "
                                    "EXCEPT SELECT record_id FROM ledger WHERE kind = 'audit')");
    while (audits->step()) {
        const std::optional<Timestamp> at = timefmt::parse_timestamp(audits->text(1));
        records.emplace_back(
            at ? std::chrono::duration_cast<std::chrono::seconds>(at->time_since_epoch()).count()
               : 0,
            1, audits->integer(0));
    }
    audits->reset();
    std::sort(records.begin(), records.end());
    for (const auto& [at, order, id] : records) {
        chain(order == 0 ? LedgerKind::Conclusion : LedgerKind::Audit, id);
    }
    return static_cast<std::int64_t>(records.size());
}

} // namespace nimbus::store::sql
