#include <nimbus/store/record_hash.hpp>

#include <charconv>

#include <fmt/format.h>

namespace nimbus::store {

RowHasher::RowHasher() {
    sha256_init(&context_);
}

void RowHasher::add_row(const StoredRow& row) {
    add_text(row.table);
    add_values(row.values);
}

void RowHasher::add_values(const std::vector<StoredValue>& values) {
    add_number('r', values.size());
    for (const StoredValue& value : values) {
        if (const auto* number = std::get_if<std::int64_t>(&value)) {
            add_number('i', static_cast<std::uint64_t>(*number));
        } else if (const auto* text = std::get_if<std::string>(&value)) {
            add_text(*text);
        } else {
            add_number('n', 0);
        }
    }
}

Digest RowHasher::finish() {
    Digest digest{};
    sha256_digest(&context_, digest.size(), digest.data()); // also starts afresh
    return digest;
}

void RowHasher::add_number(char tag, std::uint64_t number) {
    std::array<std::uint8_t, 9> bytes{static_cast<std::uint8_t>(tag)};
    for (std::size_t i = 0; i < 8; ++i) {
        bytes[i + 1] = static_cast<std::uint8_t>(number >> (8 * i));
    }
    sha256_update(&context_, bytes.size(), bytes.data());
}

void RowHasher::add_text(std::string_view text) {
    add_number('t', text.size());
    sha256_update(&context_, text.size(), reinterpret_cast<const std::uint8_t*>(text.data()));
}

Digest chain_hash(const Digest& previous, const Digest& record) {
    sha256_ctx context{};
    sha256_init(&context);
    sha256_update(&context, previous.size(), previous.data());
    sha256_update(&context, record.size(), record.data());
    Digest digest{};
    sha256_digest(&context, digest.size(), digest.data());
    return digest;
}

std::string to_hex(const Digest& digest) {
    std::string text;
    text.reserve(digest.size() * 2);
    for (const std::uint8_t byte : digest) {
        fmt::format_to(std::back_inserter(text), "{:02x}", byte);
    }
    return text;
}

std::optional<Digest> digest_from_hex(std::string_view text) {
    if (text.size() != 2 * SHA256_DIGEST_SIZE) {
        return std::nullopt;
    }
    Digest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        const char* first = text.data() + 2 * i;
        unsigned value = 0;
        const auto [end, error] = std::from_chars(first, first + 2, value, 16);
        if (error != std::errc{} || end != first + 2) {
            return std::nullopt;
        }
        digest[i] = static_cast<std::uint8_t>(value);
    }
    return digest;
}

} // namespace nimbus::store
