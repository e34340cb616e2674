#include <nimbus/ledger/verify.hpp>

#include <fmt/format.h>

#include <nimbus/store/record_hash.hpp>

namespace nimbus::ledger {
namespace {

/// Entries read, and records hashed, per round trip: bounded memory
/// whatever the ledger's length.
constexpr std::size_t batch_size = 10'000;

std::string describe(const store::LedgerEntry& entry) {
    return describe_record(entry.kind, entry.record_id, entry.session);
}

/// An entry whose record is intact but whose link does not follow from the
/// entry before it: finds the entry it was chained after, if any, with one
/// more pass over the chain (only ever after a break).
Break misplaced_entry(store::ReadTransaction& tx, const store::LedgerEntry& entry,
                      const store::Digest& record, const store::Digest& link) {
    std::optional<std::int64_t> chained_after;
    if (store::chain_hash(store::Digest{}, record) == link) {
        chained_after = 0;
    }
    for (std::int64_t after = 0; !chained_after;) {
        const std::vector<store::LedgerEntry> batch = tx.ledger_entries(after, batch_size, false);
        if (batch.empty()) {
            break;
        }
        for (const store::LedgerEntry& other : batch) {
            const std::optional<store::Digest> other_link =
                store::digest_from_hex(other.chain_hash);
            if (other_link && store::chain_hash(*other_link, record) == link) {
                chained_after = other.position;
                break;
            }
        }
        after = batch.back().position;
    }
    if (chained_after && *chained_after < entry.position - 1) {
        return Break{BreakKind::Inserted, *chained_after + 1,
                     fmt::format("the entries at positions {} to {}", *chained_after + 1,
                                 entry.position - 1),
                     fmt::format("{} was chained right after position {}: what stands between "
                                 "was never chained there",
                                 describe(entry), *chained_after)};
    }
    if (chained_after) {
        return Break{BreakKind::Reordered, entry.position, describe(entry),
                     fmt::format("it was chained after position {}, not at position {}",
                                 *chained_after, entry.position)};
    }
    return Break{BreakKind::Edited, entry.position, describe(entry),
                 "its ledger entry was changed: it follows from no entry of the chain"};
}

/// The first way in which `entry` does not follow from `previous`, if any.
std::optional<Break> check_entry(store::ReadTransaction& tx, const store::LedgerEntry& entry,
                                 std::int64_t expected_position, const store::Digest& previous) {
    if (entry.position != expected_position) {
        return Break{
            BreakKind::Missing, expected_position,
            fmt::format("the entries at positions {} to {}", expected_position, entry.position - 1),
            "they were removed from the ledger"};
    }
    if (!entry.recomputed_hash) {
        return Break{BreakKind::Missing, entry.position, describe(entry), "the record was deleted"};
    }
    if (*entry.recomputed_hash != entry.record_hash) {
        for (const std::int64_t other : tx.ledger_positions_of(*entry.recomputed_hash)) {
            if (other != entry.position) {
                return Break{BreakKind::Reordered, entry.position, describe(entry),
                             fmt::format("it holds the content chained at position {}", other)};
            }
        }
        return Break{BreakKind::Edited, entry.position, describe(entry),
                     "its content is not what was chained"};
    }
    const std::optional<store::Digest> record = store::digest_from_hex(entry.record_hash);
    const std::optional<store::Digest> link = store::digest_from_hex(entry.chain_hash);
    if (!record || !link) {
        return Break{BreakKind::Edited, entry.position, describe(entry),
                     "its ledger entry holds no hash"};
    }
    if (store::chain_hash(previous, *record) != *link) {
        return misplaced_entry(tx, entry, *record, *link);
    }
    return std::nullopt;
}

} // namespace

std::string_view to_string(BreakKind kind) {
    switch (kind) {
    case BreakKind::Edited: return "edited";
    case BreakKind::Missing: return "missing";
    case BreakKind::Inserted: return "inserted";
    case BreakKind::Reordered: return "reordered";
    }
    return "edited";
}

std::string describe_record(store::LedgerKind kind, std::int64_t record_id,
                            std::string_view session) {
    const std::string name =
        session.empty() ? fmt::format("id {}", record_id) : fmt::format("\"{}\"", session);
    switch (kind) {
    case store::LedgerKind::Conclusion: return "the conclusion of session " + name;
    case store::LedgerKind::Completion: return "the end of concluded session " + name;
    case store::LedgerKind::Audit: return fmt::format("audit record {}", record_id);
    }
    return {};
}

Verification verify_chain(store::ReadTransaction& tx,
                          const std::optional<std::string>& known_head) {
    Verification verification;
    verification.head = tx.ledger_head();
    store::Digest previous{};
    std::int64_t position = 0;
    while (true) {
        const std::vector<store::LedgerEntry> batch = tx.ledger_entries(position, batch_size, true);
        if (batch.empty()) {
            break;
        }
        for (const store::LedgerEntry& entry : batch) {
            if (auto broken = check_entry(tx, entry, position + 1, previous)) {
                verification.broken = std::move(broken);
                return verification;
            }
            if (known_head && entry.chain_hash == *known_head) {
                verification.known_head_position = entry.position;
            }
            previous = *store::digest_from_hex(entry.chain_hash);
            position = entry.position;
        }
    }
    if (const std::optional<store::UnchainedRow> row = tx.first_unchained_row()) {
        const bool session_row = row->table != "audit";
        verification.broken = Break{
            BreakKind::Inserted, 0,
            session_row ? describe_record(store::LedgerKind::Conclusion, row->id, row->session)
                        : describe_record(store::LedgerKind::Audit, row->id, {}),
            fmt::format("a row of table {} that was never chained", row->table)};
    }
    return verification;
}

} // namespace nimbus::ledger
