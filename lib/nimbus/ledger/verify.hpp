#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nimbus/store/store.hpp>

/// Verifying the ledger: every permanent record hashed afresh from its rows and
/// every link of the chain recomputed, in constant memory.
namespace nimbus::ledger {

/// How the store differs from what its ledger recorded.
enum class BreakKind {
    Edited,    ///< a record (or its entry) no longer has the content it was chained with
    Missing,   ///< a chained record, or an entry, is gone
    Inserted,  ///< a record or an entry that was never chained in order
    Reordered, ///< records or entries in another order than they were chained
};

std::string_view to_string(BreakKind kind);

/// The first place where the store and its ledger disagree.
struct Break {
    BreakKind kind = BreakKind::Edited;
    std::int64_t position = 0; ///< the ledger position; 0 for a row outside the ledger
    std::string record;        ///< "the conclusion of session s-1", "audit record 12"
    std::string detail;        ///< what was found
};

struct Verification {
    store::LedgerHead head; ///< the chain's end as stored
    std::optional<Break> broken;
    /// Where a head printed earlier was found in the (unbroken) chain.
    std::optional<std::int64_t> known_head_position;
};

/// Recomputes every record's hash and every link, in order, and stops at the
/// first break. With `known_head` (a chain hash printed earlier), also says
/// where it is in the chain: a store rewritten with every hash recomputed
/// verifies on its own, but no longer holds the heads printed before.
Verification verify_chain(store::ReadTransaction& tx,
                          const std::optional<std::string>& known_head = std::nullopt);

/// "conclusion of session s-1", "audit record 12": a record in a sentence.
std::string describe_record(store::LedgerKind kind, std::int64_t record_id,
                            std::string_view session);

} // namespace nimbus::ledger
