#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nettle/sha2.h>

#include <nimbus/store/store.hpp>

/// SHA-256 over stored rows, in one encoding for the ledger's records and
/// for `store copy`'s comparison of whole tables.
namespace nimbus::store {

using Digest = std::array<std::uint8_t, SHA256_DIGEST_SIZE>;

/// Hashes values as they stream past. Each value is a type tag and a length
/// (or the integer itself) before its bytes, so that no two different
/// sequences of rows encode alike.
class RowHasher {
public:
    RowHasher();
    /// The row's table name, then its values.
    void add_row(const StoredRow& row);
    /// The values only: the table is implied.
    void add_values(const std::vector<StoredValue>& values);
    /// The digest of everything added; the hasher starts afresh.
    Digest finish();

private:
    void add_number(char tag, std::uint64_t number);
    void add_text(std::string_view text);

    sha256_ctx context_{};
};

/// The ledger's link: SHA-256 of the previous entry's chain hash (32 zero
/// bytes before the first) and this entry's record hash.
Digest chain_hash(const Digest& previous, const Digest& record);

/// Lower-case hexadecimal, 64 characters.
std::string to_hex(const Digest& digest);
/// Reads 64 hexadecimal characters (either case); nullopt for anything else.
std::optional<Digest> digest_from_hex(std::string_view text);

} // namespace nimbus::store
