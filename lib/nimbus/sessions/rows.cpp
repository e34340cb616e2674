#include <nimbus/sessions/rows.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/util/csv.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::sessions {
namespace {

// The fields of a row, in the order of RawSession.
constexpr std::array<std::string_view, 8> field_names = {
    "id", "service", "user", "direction", "started_at", "ended_at", "outcome", "caller"};
constexpr std::size_t required_fields = 5; // id .. started_at

std::string& field(RawSession& raw, std::size_t index) {
    std::array<std::string*, 8> fields = {&raw.id,        &raw.service,    &raw.user,
                                          &raw.direction, &raw.started_at, &raw.ended_at,
                                          &raw.outcome,   &raw.caller};
    return *fields[index];
}

class CsvReaderRows final : public RowReader {
public:
    CsvReaderRows(std::istream& in, const std::string& source)
        : reader_(in) {
        std::vector<std::string> header;
        if (!reader_.next(header)) {
            // An empty file holds no sessions; blank lines are not a file of none.
            if (reader_.bytes_read() > 0) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}: no header row, only blank lines", source),
                            "a CSV import starts with a header row naming its columns");
            }
            return;
        }
        if (!reader_.error().empty()) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{}:{}: header: {}", source, reader_.line(), reader_.error()));
        }
        columns_ = header.size();
        for (std::size_t column = 0; column < header.size(); ++column) {
            if (!text::is_valid_utf8(header[column])) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: header: column {} {}", source, reader_.line(),
                                        column + 1, text::describe_invalid_utf8(header[column])),
                            "save the file as UTF-8");
            }
            const std::string name(text::trim(header[column]));
            const auto known = std::find(field_names.begin(), field_names.end(), name);
            if (known == field_names.end()) {
                ignored_.push_back(name);
                continue;
            }
            const auto index = static_cast<std::size_t>(known - field_names.begin());
            if (std::find(map_.begin(), map_.end(), index) != map_.end()) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: the header names column \"{}\" twice", source,
                                        reader_.line(), name));
            }
            map_.resize(column + 1, field_names.size());
            map_[column] = index;
        }
        map_.resize(header.size(), field_names.size());
        for (std::size_t index = 0; index < required_fields; ++index) {
            if (std::find(map_.begin(), map_.end(), index) == map_.end()) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: the header has no \"{}\" column", source,
                                        reader_.line(), field_names[index]),
                            "the columns are: id, service, user, direction, started_at, "
                            "ended_at, outcome, caller");
            }
        }
    }

    bool next(RawRow& row) override {
        if (columns_ == 0 || !reader_.next(cells_)) {
            return false;
        }
        row = RawRow{};
        row.line = reader_.line();
        row.error = reader_.error();
        if (row.error.empty() && cells_.size() != columns_) {
            row.error = fmt::format("{} fields, but the header has {}", cells_.size(), columns_);
        }
        for (std::size_t column = 0; column < cells_.size() && column < map_.size(); ++column) {
            if (map_[column] < field_names.size()) {
                field(row.fields, map_[column]) = std::move(cells_[column]);
            }
        }
        return true;
    }

    std::size_t bytes() const override { return reader_.bytes_read(); }
    std::vector<std::string> ignored_columns() const override { return ignored_; }

private:
    CsvReader reader_;
    std::size_t columns_ = 0;
    std::vector<std::size_t> map_; ///< column -> field index (field_names.size(): ignored)
    std::vector<std::string> ignored_;
    std::vector<std::string> cells_;
};

class JsonLinesRows final : public RowReader {
public:
    JsonLinesRows(std::istream& in, std::string source)
        : in_(in)
        , source_(std::move(source)) {}

    bool next(RawRow& row) override {
        std::string text;
        while (std::getline(in_, text)) {
            ++line_;
            bytes_ += text.size() + 1;
            if (!text::trim(text).empty()) {
                row = RawRow{};
                row.line = line_;
                parse(text, row);
                rows_ = true;
                return true;
            }
        }
        // An empty file holds no sessions; blank lines are not a file of none.
        if (!rows_ && bytes_ > 0) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{}: no sessions, only blank lines", source_),
                        "JSON Lines holds one object per line");
        }
        return false;
    }

    std::size_t bytes() const override { return bytes_; }

private:
    static void parse(const std::string& text, RawRow& row) {
        if (!text::is_valid_utf8(text)) {
            row.error = "the line " + text::describe_invalid_utf8(text);
            return;
        }
        // std::getline ends lines at LF only: a CR inside one is a line end
        // of another convention, never part of a JSON object.
        if (const auto cr = text.find('\r'); cr != std::string::npos && cr + 1 < text.size()) {
            row.error = "a carriage return inside the line: JSON Lines ends lines with LF or CRLF";
            return;
        }
        // A key given twice would leave the value to chance (nlohmann keeps the last).
        std::vector<std::set<std::string>> keys; // the keys seen, per open object
        std::optional<std::string> repeated;
        const nlohmann::json::parser_callback_t watch =
            [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
                switch (event) {
                case nlohmann::json::parse_event_t::object_start: keys.emplace_back(); break;
                case nlohmann::json::parse_event_t::object_end:
                    if (!keys.empty()) {
                        keys.pop_back();
                    }
                    break;
                case nlohmann::json::parse_event_t::key:
                    if (!keys.empty()) {
                        std::string key = parsed.get<std::string>();
                        if (!keys.back().insert(key).second && !repeated) {
                            repeated = std::move(key);
                        }
                    }
                    break;
                default: break;
                }
                return true;
            };
        const nlohmann::json object = nlohmann::json::parse(text, watch, false);
        if (object.is_discarded() || !object.is_object()) {
            row.error = "not a JSON object";
            return;
        }
        if (repeated) {
            row.error = fmt::format("key \"{}\" is given twice", *repeated);
            return;
        }
        for (const auto& [key, value] : object.items()) {
            const auto known = std::find(field_names.begin(), field_names.end(), key);
            if (known == field_names.end()) {
                continue; // other fields of the call system are not ours
            }
            if (value.is_null()) {
                continue;
            }
            if (!value.is_string()) {
                row.error = fmt::format("\"{}\" must be a string", key);
                return;
            }
            field(row.fields, static_cast<std::size_t>(known - field_names.begin())) =
                value.get<std::string>();
        }
    }

    std::istream& in_;
    std::string source_;
    std::size_t line_ = 0;
    std::size_t bytes_ = 0;
    bool rows_ = false; ///< a line that was not blank has been read
};

} // namespace

std::unique_ptr<RowReader> RowReader::open(std::istream& in, InputFormat format,
                                           const std::string& source) {
    if (format == InputFormat::Csv) {
        return std::make_unique<CsvReaderRows>(in, source);
    }
    return std::make_unique<JsonLinesRows>(in, source);
}

std::optional<InputFormat> parse_input_format(std::string_view text) {
    if (text == "csv") {
        return InputFormat::Csv;
    }
    if (text == "jsonl") {
        return InputFormat::JsonLines;
    }
    return std::nullopt;
}

std::optional<InputFormat> format_for_path(std::string_view path) {
    const auto ends_with = [&](std::string_view suffix) {
        return path.size() >= suffix.size() &&
               text::fold_case(path.substr(path.size() - suffix.size())) == suffix;
    };
    if (ends_with(".csv")) {
        return InputFormat::Csv;
    }
    if (ends_with(".jsonl") || ends_with(".ndjson")) {
        return InputFormat::JsonLines;
    }
    return std::nullopt;
}

} // namespace nimbus::sessions
