#pragma once

#include <string>
#include <string_view>
#include <vector>

/// Reading libpq connection strings without libpq: enough to tell one from a
/// file path and to keep its passwords out of every message.
namespace nimbus::store::conninfo {

/// The URI scheme `text` begins with ("postgresql" in "postgresql://..."), as
/// written, or empty when it begins with none (RFC 3986: a letter, then
/// letters, digits, "+", "-" or ".", then ":").
std::string_view scheme(std::string_view text);

/// True when `text` is written as libpq's keyword/value connection string,
/// such as "host=db.example dbname=nimbus": it begins with a word and "=".
bool is_keyword_value(std::string_view text);

/// A connection string with its passwords replaced by "***", and the
/// passwords as written, so that a message quoting any of them can be cleaned.
struct Redacted {
    std::string text;
    std::vector<std::string> passwords;

    /// `message` with every password in it (as written, or percent-decoded)
    /// replaced by "***".
    std::string clean(std::string message) const;
};

/// Finds the passwords in a postgresql:// URI (user:PASSWORD@ and
/// ?password=) or a keyword/value string (password=...), as libpq reads them.
Redacted redact(std::string_view text);

} // namespace nimbus::store::conninfo
