#include <nimbus/sessions/rows.hpp>

#include <array>

namespace nimbus::sessions {
namespace {

// The fields of a row, in the order of RawSession.
constexpr std::array<std::string_view, 10> field_names = {
    "id",       "service", "user",   "direction",       "started_at",
    "ended_at", "outcome", "caller", "waiting_seconds", "talk_seconds"};
constexpr std::size_t required_fields = 5; // id .. started_at
constexpr std::string_view context_group = "context";

class SessionRows final : public RowReader {
public:
    SessionRows(std::istream& in, InputFormat format, const std::string& source)
        : records_(RecordReader::open(in, format, source,
                                      RecordLayout{{field_names.begin(), field_names.end()},
                                                   required_fields,
                                                   "sessions",
                                                   true,
                                                   context_group})) {}

    bool next(RawRow& row) override {
        if (!records_->next(record_)) {
            return false;
        }
        row = RawRow{};
        row.line = record_.line;
        row.error = std::move(record_.error);
        std::array<std::string*, field_names.size()> fields = {
            &row.fields.id,          &row.fields.service,    &row.fields.user,
            &row.fields.direction,   &row.fields.started_at, &row.fields.ended_at,
            &row.fields.outcome,     &row.fields.caller,     &row.fields.waiting_seconds,
            &row.fields.talk_seconds};
        for (std::size_t index = 0; index < fields.size(); ++index) {
            *fields[index] = std::move(record_.fields[index]);
        }
        for (auto& [name, value] : record_.others) {
            std::string field = name.size() > context_group.size()
                                    ? name.substr(context_group.size() + 1) // after "context."
                                    : std::string();
            row.fields.context.emplace_back(std::move(field), std::move(value));
        }
        return true;
    }

    std::size_t bytes() const override { return records_->bytes(); }
    std::vector<std::string> ignored_columns() const override {
        return records_->ignored_columns();
    }

private:
    std::unique_ptr<RecordReader> records_;
    Record record_;
};

} // namespace

std::unique_ptr<RowReader> RowReader::open(std::istream& in, InputFormat format,
                                           const std::string& source) {
    return std::make_unique<SessionRows>(in, format, source);
}

} // namespace nimbus::sessions
