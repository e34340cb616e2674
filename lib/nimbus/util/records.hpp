#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Reading records from CSV (with a header row) or JSON Lines, streaming and
/// before any checking of what the fields mean.
namespace nimbus {

enum class InputFormat { Csv, JsonLines };

std::optional<InputFormat> parse_input_format(std::string_view text); ///< "csv" or "jsonl"
/// The format a file name says: .csv, or .jsonl / .ndjson.
std::optional<InputFormat> format_for_path(std::string_view path);

/// What a file's records hold.
struct RecordLayout {
    std::vector<std::string_view> fields; ///< the fields read by name
    std::size_t required = 0;             ///< a CSV header must name the first `required`
    std::string_view noun;                ///< "sessions", for "no sessions, only blank lines"
    /// Keep the other columns (CSV) or keys (JSON Lines) as Record::others;
    /// otherwise they are ignored.
    bool keep_others = false;
    /// With keep_others, keep only this group: the CSV columns "GROUP.NAME"
    /// and the JSON Lines key GROUP (an object, read as "GROUP.NAME"); empty:
    /// keep every other column or key.
    std::string_view kept_group;

    /// True when a column or key that is not a field is kept.
    bool keeps(std::string_view name) const {
        return keep_others &&
               (kept_group.empty() || name == kept_group ||
                (name.starts_with(kept_group) && name.substr(kept_group.size()).starts_with('.')));
    }
};

/// A record as read: its line, its fields as text, or what made it unreadable.
struct Record {
    std::size_t line = 0;
    /// By the layout's field index; empty when not given (or JSON null).
    std::vector<std::string> fields;
    /// With keep_others, the other columns or keys, in the file's order, as
    /// text: a JSON number or true/false as written, and an object's members
    /// as "KEY.MEMBER" (so that a JSON `"extra": {"a": 1}` reads as a CSV
    /// column `extra.a`).
    std::vector<std::pair<std::string, std::string>> others;
    std::string error; ///< empty when the record was read well
};

/// A rejected record: where, and why.
struct RecordProblem {
    std::size_t line = 0;
    std::string reason;
};

/// How many rejected records an import names; it counts the rest.
inline constexpr std::size_t max_reported_problems = 100;

/// Reads records one at a time. CSV needs a header row naming the columns;
/// JSON Lines needs one object per line, whose fields are strings (or null).
/// Never throws on a bad record: the record carries the error. A CSV header
/// without a required column, and a file that holds only blank lines (and no
/// header), throw InvalidData.
class RecordReader {
public:
    static std::unique_ptr<RecordReader> open(std::istream& in, InputFormat format,
                                              const std::string& source, RecordLayout layout);
    virtual ~RecordReader() = default;

    virtual bool next(Record& record) = 0;
    virtual std::size_t bytes() const = 0; ///< consumed so far, for progress
    /// The CSV columns that were ignored (neither fields nor kept).
    virtual std::vector<std::string> ignored_columns() const { return {}; }
};

} // namespace nimbus
