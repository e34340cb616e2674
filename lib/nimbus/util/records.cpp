#include <nimbus/util/records.hpp>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/util/csv.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus {
namespace {

std::string joined(const std::vector<std::string_view>& names) {
    std::string text;
    for (const std::string_view name : names) {
        text += (text.empty() ? "" : ", ") + std::string(name);
    }
    return text;
}

class CsvRecords final : public RecordReader {
public:
    CsvRecords(std::istream& in, const std::string& source, RecordLayout layout)
        : reader_(in)
        , layout_(std::move(layout)) {
        std::vector<std::string> header;
        if (!reader_.next(header)) {
            // An empty file holds no records; blank lines are not a file of none.
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
        const std::size_t other = layout_.fields.size();
        map_.assign(header.size(), other);
        std::set<std::string> seen;
        for (std::size_t column = 0; column < header.size(); ++column) {
            if (!text::is_valid_utf8(header[column])) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: header: column {} {}", source, reader_.line(),
                                        column + 1, text::describe_invalid_utf8(header[column])),
                            "save the file as UTF-8");
            }
            std::string name(text::trim(header[column]));
            const auto known = std::find(layout_.fields.begin(), layout_.fields.end(), name);
            // Ignored columns may repeat: they are someone else's.
            if ((known != layout_.fields.end() || layout_.keeps(name)) &&
                !seen.insert(name).second) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: the header names column \"{}\" twice", source,
                                        reader_.line(), name));
            }
            if (known != layout_.fields.end()) {
                map_[column] = static_cast<std::size_t>(known - layout_.fields.begin());
            } else if (!layout_.keeps(name)) {
                ignored_.push_back(name);
            }
            names_.push_back(std::move(name));
        }
        for (std::size_t index = 0; index < layout_.required; ++index) {
            if (std::find(map_.begin(), map_.end(), index) == map_.end()) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: the header has no \"{}\" column", source,
                                        reader_.line(), layout_.fields[index]),
                            "the columns are: " + joined(layout_.fields));
            }
        }
    }

    bool next(Record& record) override {
        if (columns_ == 0 || !reader_.next(cells_)) {
            return false;
        }
        record = Record{};
        record.fields.resize(layout_.fields.size());
        record.line = reader_.line();
        record.error = reader_.error();
        if (record.error.empty() && cells_.size() != columns_) {
            record.error = fmt::format("{} fields, but the header has {}", cells_.size(), columns_);
        }
        for (std::size_t column = 0; column < cells_.size() && column < map_.size(); ++column) {
            if (map_[column] < layout_.fields.size()) {
                record.fields[map_[column]] = std::move(cells_[column]);
            } else if (layout_.keeps(names_[column])) {
                record.others.emplace_back(names_[column], std::move(cells_[column]));
            }
        }
        return true;
    }

    std::size_t bytes() const override { return reader_.bytes_read(); }
    std::vector<std::string> ignored_columns() const override { return ignored_; }

private:
    CsvReader reader_;
    RecordLayout layout_;
    std::size_t columns_ = 0;
    std::vector<std::string> names_; ///< the header's column names
    std::vector<std::size_t> map_;   ///< column -> field index (fields.size(): other)
    std::vector<std::string> ignored_;
    std::vector<std::string> cells_;
};

class JsonLinesRecords final : public RecordReader {
public:
    JsonLinesRecords(std::istream& in, std::string source, RecordLayout layout)
        : in_(in)
        , source_(std::move(source))
        , layout_(std::move(layout)) {}

    bool next(Record& record) override {
        std::string text;
        while (std::getline(in_, text)) {
            ++line_;
            bytes_ += text.size() + 1;
            if (!text::trim(text).empty()) {
                record = Record{};
                record.fields.resize(layout_.fields.size());
                record.line = line_;
                parse(text, record);
                records_ = true;
                return true;
            }
        }
        // An empty file holds no records; blank lines are not a file of none.
        if (!records_ && bytes_ > 0) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{}: no {}, only blank lines", source_, layout_.noun),
                        "JSON Lines holds one object per line");
        }
        return false;
    }

    std::size_t bytes() const override { return bytes_; }

private:
    /// A value kept as text: a string as it is, a number or true/false as
    /// written; nullopt for anything else.
    static std::optional<std::string> scalar_text(const nlohmann::ordered_json& value) {
        if (value.is_string()) {
            return value.get<std::string>();
        }
        if (value.is_number() || value.is_boolean()) {
            return value.dump();
        }
        return std::nullopt;
    }

    /// Keeps a key that is not a field; returns the error, if any.
    std::string keep(const std::string& key, const nlohmann::ordered_json& value,
                     Record& record) const {
        if (value.is_null()) {
            return {};
        }
        if (value.is_object()) {
            for (const auto& [member, inner] : value.items()) {
                if (inner.is_null()) {
                    continue;
                }
                auto kept = scalar_text(inner);
                if (!kept) {
                    return fmt::format("\"{}.{}\" must be a string, a number or true or false", key,
                                       member);
                }
                record.others.emplace_back(key + "." + member, std::move(*kept));
            }
            return {};
        }
        auto kept = scalar_text(value);
        if (!kept) {
            return fmt::format("\"{}\" must be a string, a number, true or false or an object",
                               key);
        }
        record.others.emplace_back(key, std::move(*kept));
        return {};
    }

    void parse(const std::string& text, Record& record) const {
        if (!text::is_valid_utf8(text)) {
            record.error = "the line " + text::describe_invalid_utf8(text);
            return;
        }
        // std::getline ends lines at LF only: a CR inside one is a line end
        // of another convention, never part of a JSON object.
        if (const auto cr = text.find('\r'); cr != std::string::npos && cr + 1 < text.size()) {
            record.error =
                "a carriage return inside the line: JSON Lines ends lines with LF or CRLF";
            return;
        }
        // A key given twice would leave the value to chance (nlohmann keeps the last).
        std::vector<std::set<std::string>> keys; // the keys seen, per open object
        std::optional<std::string> repeated;
        const nlohmann::ordered_json::parser_callback_t watch =
            [&](int /*depth*/, nlohmann::ordered_json::parse_event_t event,
                nlohmann::ordered_json& parsed) {
                switch (event) {
                case nlohmann::ordered_json::parse_event_t::object_start:
                    keys.emplace_back();
                    break;
                case nlohmann::ordered_json::parse_event_t::object_end:
                    if (!keys.empty()) {
                        keys.pop_back();
                    }
                    break;
                case nlohmann::ordered_json::parse_event_t::key:
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
        const nlohmann::ordered_json object = nlohmann::ordered_json::parse(text, watch, false);
        if (object.is_discarded() || !object.is_object()) {
            record.error = "not a JSON object";
            return;
        }
        if (repeated) {
            record.error = fmt::format("key \"{}\" is given twice", *repeated);
            return;
        }
        for (const auto& [key, value] : object.items()) {
            const auto known = std::find(layout_.fields.begin(), layout_.fields.end(), key);
            if (known == layout_.fields.end()) {
                if (layout_.keeps(key)) {
                    if (std::string error = keep(key, value, record); !error.empty()) {
                        record.error = std::move(error);
                        return;
                    }
                }
                continue;
            }
            if (value.is_null()) {
                continue;
            }
            if (!value.is_string()) {
                record.error = fmt::format("\"{}\" must be a string", key);
                return;
            }
            record.fields[static_cast<std::size_t>(known - layout_.fields.begin())] =
                value.get<std::string>();
        }
    }

    std::istream& in_;
    std::string source_;
    RecordLayout layout_;
    std::size_t line_ = 0;
    std::size_t bytes_ = 0;
    bool records_ = false; ///< a line that was not blank has been read
};

} // namespace

std::unique_ptr<RecordReader> RecordReader::open(std::istream& in, InputFormat format,
                                                 const std::string& source, RecordLayout layout) {
    if (format == InputFormat::Csv) {
        return std::make_unique<CsvRecords>(in, source, std::move(layout));
    }
    return std::make_unique<JsonLinesRecords>(in, source, std::move(layout));
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

} // namespace nimbus
