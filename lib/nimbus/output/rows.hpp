#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// Data first, formats second: every listing builds Rows, and one renderer per
/// format turns them into text for people (table) or programs (JSON, CSV).
namespace nimbus::output {

/// A JSON value kept as text (e.g. an audit record's before/after object).
struct RawJson {
    std::string text;
};

/// A share between 0 and 1: 0.3333 in CSV and JSON, 33.3% in tables.
struct Fraction {
    double value = 0;
};

using Strings = std::vector<std::string>;
using Cell =
    std::variant<std::monostate, std::int64_t, bool, std::string, Strings, RawJson, Fraction>;

/// Which renderers show a column: tables can carry a readable summary that
/// programs do not need, and programs can get fields too wide for a table.
enum class Audience { All, People, Programs };

struct Column {
    std::string key;    ///< JSON field and CSV header
    std::string header; ///< table header
    Audience audience = Audience::All;
};

struct Rows {
    std::vector<Column> columns;
    std::vector<std::vector<Cell>> rows;

    /// Appends a row; its cells must match the columns one to one.
    void add(std::vector<Cell> cells);
    /// Keeps only the columns with these keys, in this order, for every
    /// format. A key no column has is a Usage error that lists the keys.
    void select(const std::vector<std::string>& keys);
};

enum class Format { Table, Json, Csv, Html };

std::optional<Format> parse_format(std::string_view text);
std::string_view format_name(Format format); ///< "table", "json", "csv" or "html"

/// Listing (many rows) or record (the one row of a `show` command).
enum class Shape { List, Record };

struct Style {
    bool color = false; ///< bold table headers (terminals only)
};

/// Aligned columns with a header line; a record prints one "field  value" line per column.
void render_table(std::ostream& out, const Rows& rows, Shape shape, const Style& style);

/// RFC 4180: a header row of keys, CRLF line ends, quotes where needed. Text
/// cells that a spreadsheet would run as a formula (starting with =, +, -, @,
/// tab or carriage return) get a leading apostrophe.
void render_csv(std::ostream& out, const Rows& rows);

/// An array of objects keyed by column (one object for a record), indented.
void render_json(std::ostream& out, const Rows& rows, Shape shape);

void render(std::ostream& out, const Rows& rows, Format format, Shape shape, const Style& style);

/// Writes CSV one row at a time, for tables too large to hold (same rules as render_csv).
class CsvWriter {
public:
    CsvWriter(std::ostream& out, std::vector<Column> columns);
    void row(const std::vector<Cell>& cells);
    std::size_t rows() const { return rows_; }

private:
    std::ostream& out_;
    std::vector<Column> columns_;
    std::size_t rows_ = 0;
};

/// The cell as a table or CSV shows it (lists joined with "; ").
std::string cell_text(const Cell& cell);

} // namespace nimbus::output
