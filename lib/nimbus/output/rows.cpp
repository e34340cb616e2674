#include <nimbus/output/rows.hpp>

#include <algorithm>
#include <cmath>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::output {
namespace {

template <class... Visitors>
struct Overloaded : Visitors... {
    using Visitors::operator()...;
};
template <class... Visitors>
Overloaded(Visitors...) -> Overloaded<Visitors...>; // clang 14 lacks aggregate CTAD

/// Shares are reported to four decimals, the same in every format.
double rounded(double value) {
    return std::round(value * 10000.0) / 10000.0;
}

nlohmann::ordered_json to_json(const Cell& cell) {
    return std::visit(Overloaded{
                          [](std::monostate) { return nlohmann::ordered_json(nullptr); },
                          [](std::int64_t v) { return nlohmann::ordered_json(v); },
                          [](bool v) { return nlohmann::ordered_json(v); },
                          [](const std::string& v) { return nlohmann::ordered_json(v); },
                          [](const Strings& v) { return nlohmann::ordered_json(v); },
                          [](const RawJson& v) {
                              return v.text.empty() ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json::parse(v.text);
                          },
                          [](Fraction v) { return nlohmann::ordered_json(rounded(v.value)); },
                      },
                      cell);
}

bool for_people(const Column& column) {
    return column.audience != Audience::Programs;
}
bool for_programs(const Column& column) {
    return column.audience != Audience::People;
}

nlohmann::ordered_json row_object(const Rows& rows, const std::vector<Cell>& row) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < rows.columns.size(); ++i) {
        if (for_programs(rows.columns[i])) {
            object[rows.columns[i].key] = to_json(row[i]);
        }
    }
    return object;
}

bool needs_formula_guard(const Cell& cell, const std::string& text) {
    if (!std::holds_alternative<std::string>(cell) && !std::holds_alternative<Strings>(cell)) {
        return false; // numbers and booleans are data, never formulas
    }
    return !text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string::npos;
}

void write_csv_field(std::ostream& out, const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) {
        out << text;
        return;
    }
    out << '"';
    for (const char c : text) {
        if (c == '"') {
            out << '"';
        }
        out << c;
    }
    out << '"';
}

void pad(std::ostream& out, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
        out << ' ';
    }
}

/// Table cells stay on one line, and never steer the terminal.
std::string one_line(const std::string& text) {
    return text::escape_controls(text);
}

} // namespace

void Rows::add(std::vector<Cell> cells) {
    if (cells.size() != columns.size()) {
        throw Error(ErrorKind::Internal, "a row does not match its columns");
    }
    rows.push_back(std::move(cells));
}

void Rows::select(const std::vector<std::string>& keys) {
    std::vector<std::size_t> picked;
    for (const std::string& key : keys) {
        const auto found = std::find_if(columns.begin(), columns.end(),
                                        [&](const Column& column) { return column.key == key; });
        if (found == columns.end()) {
            std::string known;
            for (auto column = columns.begin(); column != columns.end(); ++column) {
                const auto same_key = [&](const Column& c) {
                    return c.key == column->key;
                };
                if (std::find_if(columns.begin(), column, same_key) == column) {
                    known += (known.empty() ? "" : ", ") + column->key;
                }
            }
            throw Error(ErrorKind::Usage, fmt::format("no column \"{}\" here", key),
                        "the columns are: " + known);
        }
        picked.push_back(static_cast<std::size_t>(found - columns.begin()));
    }
    std::vector<Column> chosen;
    for (const std::size_t index : picked) {
        chosen.push_back(columns[index]);
        chosen.back().audience = Audience::All;
    }
    for (std::vector<Cell>& row : rows) {
        std::vector<Cell> cells;
        for (const std::size_t index : picked) {
            cells.push_back(row[index]);
        }
        row = std::move(cells);
    }
    columns = std::move(chosen);
}

std::string_view format_name(Format format) {
    switch (format) {
    case Format::Table: return "table";
    case Format::Json: return "json";
    case Format::Csv: return "csv";
    case Format::Html: return "html";
    }
    return "table";
}

std::optional<Format> parse_format(std::string_view text) {
    if (text == "table") {
        return Format::Table;
    }
    if (text == "json") {
        return Format::Json;
    }
    if (text == "csv") {
        return Format::Csv;
    }
    if (text == "html") {
        return Format::Html;
    }
    return std::nullopt;
}

std::string cell_text(const Cell& cell) {
    return std::visit(Overloaded{
                          [](std::monostate) { return std::string{}; },
                          [](std::int64_t v) { return std::to_string(v); },
                          [](bool v) { return std::string(v ? "true" : "false"); },
                          [](const std::string& v) { return v; },
                          [](const Strings& v) {
                              std::string joined;
                              for (const std::string& item : v) {
                                  joined += (joined.empty() ? "" : "; ") + item;
                              }
                              return joined;
                          },
                          [](const RawJson& v) { return v.text; },
                          [](Fraction v) { return fmt::format("{:.4f}", rounded(v.value)); },
                      },
                      cell);
}

std::string table_text(const Cell& cell) {
    if (const auto* fraction = std::get_if<Fraction>(&cell)) {
        return fmt::format("{:.1f}%", rounded(fraction->value) * 100.0);
    }
    return cell_text(cell);
}

void render_table(std::ostream& out, const Rows& rows, Shape shape, const Style& style) {
    const char* bold = style.color ? "\033[1m" : "";
    const char* reset = style.color ? "\033[0m" : "";
    std::vector<std::size_t> shown;
    for (std::size_t i = 0; i < rows.columns.size(); ++i) {
        if (for_people(rows.columns[i])) {
            shown.push_back(i);
        }
    }
    if (shape == Shape::Record) {
        std::size_t width = 0;
        for (const std::size_t i : shown) {
            width = std::max(width, text::display_width(rows.columns[i].header));
        }
        for (const auto& row : rows.rows) {
            for (const std::size_t i : shown) {
                const std::string& header = rows.columns[i].header;
                out << bold << header << reset;
                pad(out, width - text::display_width(header) + 2);
                out << one_line(table_text(row[i])) << '\n';
            }
        }
        return;
    }
    // Two passes over the cells, widths first, so that a long listing is never
    // held as text beside its rows.
    std::vector<std::size_t> widths(shown.size(), 0);
    for (std::size_t c = 0; c < shown.size(); ++c) {
        widths[c] = text::display_width(rows.columns[shown[c]].header);
    }
    for (const auto& row : rows.rows) {
        for (std::size_t c = 0; c < shown.size(); ++c) {
            widths[c] =
                std::max(widths[c], text::display_width(one_line(table_text(row[shown[c]]))));
        }
    }
    const auto line = [&](const auto& text_of, bool header) {
        for (std::size_t c = 0; c < shown.size(); ++c) {
            const std::string text = text_of(shown[c]);
            out << (header ? bold : "") << text << (header ? reset : "");
            if (c + 1 < shown.size()) {
                pad(out, widths[c] - text::display_width(text) + 2);
            }
        }
        out << '\n';
    };
    line([&](std::size_t i) { return rows.columns[i].header; }, true);
    for (const auto& row : rows.rows) {
        line([&](std::size_t i) { return one_line(table_text(row[i])); }, false);
    }
}

CsvWriter::CsvWriter(std::ostream& out, std::vector<Column> columns)
    : out_(out)
    , columns_(std::move(columns)) {
    bool first = true;
    for (const Column& column : columns_) {
        if (for_programs(column)) {
            out_ << (first ? "" : ",");
            write_csv_field(out_, column.key);
            first = false;
        }
    }
    out_ << "\r\n";
}

void CsvWriter::row(const std::vector<Cell>& cells) {
    bool first = true;
    for (std::size_t i = 0; i < columns_.size() && i < cells.size(); ++i) {
        if (!for_programs(columns_[i])) {
            continue;
        }
        out_ << (first ? "" : ",");
        first = false;
        std::string text = cell_text(cells[i]);
        if (needs_formula_guard(cells[i], text)) {
            text.insert(0, 1, '\'');
        }
        write_csv_field(out_, text);
    }
    out_ << "\r\n";
    ++rows_;
}

void render_csv(std::ostream& out, const Rows& rows) {
    CsvWriter writer(out, rows.columns);
    for (const auto& row : rows.rows) {
        writer.row(row);
    }
}

void render_json(std::ostream& out, const Rows& rows, Shape shape) {
    const auto dump = [](const nlohmann::ordered_json& value) {
        return value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    };
    if (shape == Shape::Record && rows.rows.size() == 1) {
        out << dump(row_object(rows, rows.rows.front())) << '\n';
        return;
    }
    if (rows.rows.empty()) {
        out << "[]\n";
        return;
    }
    // The array one object at a time, each indented one level: byte for byte
    // what dumping the whole array gives (JSON text holds no raw line breaks),
    // without holding a second copy of a long listing.
    out << "[\n";
    for (std::size_t r = 0; r < rows.rows.size(); ++r) {
        std::string text = "  " + dump(row_object(rows, rows.rows[r]));
        for (std::size_t at = text.find('\n'); at != std::string::npos;
             at = text.find('\n', at + 3)) {
            text.insert(at + 1, "  ");
        }
        out << text << (r + 1 < rows.rows.size() ? ",\n" : "\n");
    }
    out << "]\n";
}

void render(std::ostream& out, const Rows& rows, Format format, Shape shape, const Style& style) {
    switch (format) {
    case Format::Table: render_table(out, rows, shape, style); return;
    case Format::Json: render_json(out, rows, shape); return;
    case Format::Csv: render_csv(out, rows); return;
    case Format::Html: throw Error(ErrorKind::Usage, "--format html is for 'report usage' only");
    }
}

} // namespace nimbus::output
