#include <nimbus/directory/directory.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/ous.hpp>
#include <nimbus/directory/phone.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::directory {
namespace {

// The fields of a row, in the order of the layout.
enum Field : std::size_t { Number, Name, Company, Email, Notes };
constexpr std::size_t max_name = 200;
constexpr std::size_t max_email = 254;
constexpr std::size_t max_notes = 2000;
constexpr std::size_t max_attribute_name = 64;
constexpr std::size_t max_attribute_value = 500;
constexpr std::size_t max_attributes = 50;

Ou directory_ou(store::ReadTransaction& tx, const std::optional<std::string>& ou) {
    return ou ? ous::find(tx, *ou) : ous::root(tx);
}

policy::Scope scope_of(const Ou& ou) {
    return policy::Scope::ou(ou.path, ou.path_key);
}

std::string upper(std::string_view text) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return upper;
}

/// The country as stored ("CH"), or InvalidData.
std::string checked_country(std::string_view given) {
    const std::string country = upper(text::trim(given));
    if (!text::is_valid_utf8(country) || !phone::is_country(country)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("\"{}\" is not a country code", text::escape_controls(given)),
                    "give the ISO 3166 two-letter code of the country whose national numbers "
                    "the file holds, e.g. --country CH");
    }
    return country;
}

/// Why a text field cannot be stored, or empty when it can. Notes may hold
/// line breaks; the other fields are one line.
std::string unfit(std::string_view field, std::string_view value, std::size_t limit,
                  bool lines = false) {
    if (const std::size_t length = text::code_points(value); length > limit) {
        return fmt::format("\"{}\" is {} characters long; the limit is {}", field, length, limit);
    }
    std::string_view rest = value;
    while (true) {
        const std::size_t end = lines ? rest.find('\n') : std::string_view::npos;
        if (text::has_control_characters(rest.substr(0, end))) {
            return fmt::format("\"{}\" contains a control character{}", field,
                               lines ? "" : " or a line break");
        }
        if (end == std::string_view::npos) {
            return {};
        }
        rest.remove_prefix(end + 1);
    }
}

/// `text` with CRLF and CR line ends as LF.
std::string lf_line_ends(std::string_view text) {
    std::string lf;
    lf.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
            lf += text[i];
        } else if (i + 1 == text.size() || text[i + 1] != '\n') {
            lf += '\n';
        }
    }
    return lf;
}

/// A row's number in E.164 form, or why it has none.
struct RowNumber {
    std::string e164;
    std::string problem; ///< empty when there is a number
};

RowNumber row_number(std::string_view raw, const std::string& country) {
    const std::string_view number = text::trim(raw);
    if (number.empty()) {
        return {{}, "\"number\" is empty"};
    }
    auto normalised = phone::normalise(number, country);
    if (auto* problem = std::get_if<phone::Problem>(&normalised)) {
        std::string reason = fmt::format("number \"{}\" {}", text::escape_controls(number),
                                         phone::describe(*problem));
        if (*problem == phone::Problem::NeedsCountry && country.empty()) {
            reason += ": give the country of national numbers, e.g. --country CH";
        }
        return {{}, std::move(reason)};
    }
    return {std::get<std::string>(std::move(normalised)), {}};
}

/// A row as an entry of the directory of `ou_id`, or why it cannot be one.
std::variant<DirectoryEntry, std::string> check_row(Record& row, std::int64_t ou_id,
                                                    const std::string& country) {
    if (!row.error.empty()) {
        return std::move(row.error);
    }
    for (std::size_t field = 0; field < row.fields.size(); ++field) {
        if (!text::is_valid_utf8(row.fields[field])) {
            return fmt::format("a field {}", text::describe_invalid_utf8(row.fields[field]));
        }
    }
    for (const auto& [name, value] : row.others) {
        if (!text::is_valid_utf8(name) || !text::is_valid_utf8(value)) {
            return fmt::format(
                "attribute \"{}\" {}", text::escape_controls(name),
                text::describe_invalid_utf8(text::is_valid_utf8(name) ? value : name));
        }
    }
    DirectoryEntry entry;
    entry.ou_id = ou_id;
    RowNumber number = row_number(row.fields[Number], country);
    if (!number.problem.empty()) {
        return std::move(number.problem);
    }
    entry.number = std::move(number.e164);
    entry.name = text::collapse_whitespace(row.fields[Name]);
    entry.company = text::collapse_whitespace(row.fields[Company]);
    entry.email = std::string(text::trim(row.fields[Email]));
    entry.notes = lf_line_ends(text::trim(row.fields[Notes]));
    if (entry.name.empty() && entry.company.empty()) {
        return fmt::format("caller {} has neither a name nor a company", entry.number);
    }
    for (const auto& [field, value, limit] :
         {std::tuple<std::string_view, const std::string&, std::size_t>{"name", entry.name,
                                                                        max_name},
          {"company", entry.company, max_name},
          {"email", entry.email, max_email}}) {
        if (std::string why = unfit(field, value, limit); !why.empty()) {
            return why;
        }
    }
    if (!entry.email.empty() && (entry.email.find('@') == std::string::npos ||
                                 entry.email.find(' ') != std::string::npos)) {
        return fmt::format("email \"{}\" is not an e-mail address",
                           text::escape_controls(entry.email));
    }
    if (std::string why = unfit("notes", entry.notes, max_notes, true); !why.empty()) {
        return why;
    }
    if (row.others.size() > max_attributes) {
        return fmt::format("{} further columns; the limit is {}", row.others.size(),
                           max_attributes);
    }
    for (auto& [name, value] : row.others) {
        std::string clean_name(text::trim(name));
        std::string clean_value(text::trim(value));
        if (clean_name.empty()) {
            return std::string("a column without a name holds a value");
        }
        if (std::string why = unfit("attribute name", clean_name, max_attribute_name);
            !why.empty()) {
            return why;
        }
        if (std::string why = unfit(clean_name, clean_value, max_attribute_value); !why.empty()) {
            return why;
        }
        for (const auto& [earlier, value_ignored] : entry.attributes) {
            if (earlier == clean_name) {
                return fmt::format("attribute \"{}\" is given twice", clean_name);
            }
        }
        if (!clean_value.empty()) {
            entry.attributes.emplace_back(std::move(clean_name), std::move(clean_value));
        }
    }
    return entry;
}

/// The OU's directory as stored, if it has one.
std::optional<Directory> stored_directory(store::ReadTransaction& tx, std::int64_t ou_id) {
    for (Directory& directory : tx.directories()) {
        if (directory.ou_id == ou_id) {
            return std::move(directory);
        }
    }
    return std::nullopt;
}

nlohmann::ordered_json directory_snapshot(std::size_t entries, std::string_view country) {
    return {{"entries", entries}, {"country", country}};
}

} // namespace

ImportSummary import(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                     std::istream& in, const ImportOptions& options) {
    const Ou ou = directory_ou(tx, options.ou);
    policy::require(actor, policy::Action::ManageDirectory, scope_of(ou));
    ous::require_active(ou);
    const std::optional<Directory> existing = stored_directory(tx, ou.id);
    ImportSummary summary;
    summary.ou_path = ou.path;
    summary.country = options.country ? checked_country(*options.country)
                      : existing      ? existing->country
                                      : std::string();

    const auto reader = RecordReader::open(
        in, options.format, options.source,
        RecordLayout{{"number", "name", "company", "email", "notes"}, 1, "callers", true, {}});
    std::map<std::string, std::size_t> lines; // number -> the line that gave it
    std::vector<DirectoryEntry> wanted;
    Record row;
    const auto reject = [&](std::size_t line, std::string reason) {
        if (summary.problems.size() < max_reported_problems) {
            summary.problems.push_back(Problem{line, std::move(reason)});
        }
        ++summary.invalid;
    };
    while (reader->next(row)) {
        auto checked = check_row(row, ou.id, summary.country);
        if (auto* why = std::get_if<std::string>(&checked)) {
            reject(row.line, std::move(*why));
            continue;
        }
        DirectoryEntry& entry = std::get<DirectoryEntry>(checked);
        if (const auto [earlier, added] = lines.emplace(entry.number, row.line); !added) {
            reject(row.line,
                   fmt::format("caller {} is already on line {}", entry.number, earlier->second));
            continue;
        }
        wanted.push_back(std::move(entry));
    }
    summary.entries = wanted.size();
    if (summary.invalid > 0) {
        return summary;
    }
    if (wanted.empty()) {
        throw Error(ErrorKind::InvalidData, fmt::format("{} holds no callers", options.source),
                    fmt::format("an import replaces the directory whole; to empty it, run: "
                                "nimbus-codes directory remove --all --ou \"{}\"",
                                ou.path));
    }
    if (summary.country.empty()) {
        // Every number was international; the directory still needs a country
        // for the national forms of the sessions' callers.
        throw Error(ErrorKind::InvalidData,
                    fmt::format("the directory of {} has no country yet", ou.path),
                    "give the country whose national numbers callers have, e.g. --country CH");
    }

    std::map<std::string, DirectoryEntry> stored;
    if (existing) {
        for (DirectoryEntry& entry : tx.directory_entries(ou.id)) {
            std::string number = entry.number;
            stored.emplace(std::move(number), std::move(entry));
        }
    }
    tx.put_directory(ou.id, summary.country, audit.now());
    for (const DirectoryEntry& entry : wanted) {
        const auto known = stored.find(entry.number);
        if (known == stored.end()) {
            tx.insert_directory_entry(entry);
            ++summary.added;
            continue;
        }
        if (known->second == entry) {
            ++summary.unchanged;
        } else {
            tx.update_directory_entry(entry);
            ++summary.changed;
        }
        stored.erase(known);
    }
    for (const auto& [number, entry] : stored) {
        tx.delete_directory_entry(ou.id, number);
        ++summary.removed;
    }
    store_missing_caller_numbers(tx, summary.country);
    nlohmann::ordered_json after = directory_snapshot(summary.entries, summary.country);
    after["source"] = options.source;
    after["added"] = summary.added;
    after["changed"] = summary.changed;
    after["removed"] = summary.removed;
    audit.record("directory.import", "directory of " + ou.path, ou.id,
                 existing ? directory_snapshot(static_cast<std::size_t>(existing->entries),
                                               existing->country)
                          : nlohmann::ordered_json(nullptr),
                 after);
    return summary;
}

std::vector<Directory> directories(store::ReadTransaction& tx, const Actor& actor,
                                   const std::optional<std::string>& ou) {
    const policy::Filter readable(actor, policy::Action::ReadDirectory);
    std::optional<Ou> only;
    if (ou) {
        only = ous::find(tx, *ou);
        policy::require(actor, policy::Action::ReadDirectory, scope_of(*only));
    }
    std::map<std::int64_t, Ou> by_id;
    for (Ou& each : tx.ous()) {
        const std::int64_t id = each.id;
        by_id.emplace(id, std::move(each));
    }
    std::vector<Directory> shown;
    for (Directory& directory : tx.directories()) {
        const Ou& holder = by_id.at(directory.ou_id);
        if ((only && only->id != holder.id) || !readable.permits(scope_of(holder))) {
            continue;
        }
        shown.push_back(std::move(directory));
    }
    return shown;
}

std::vector<DirectoryEntry> entries(store::ReadTransaction& tx, const Actor& actor,
                                    const std::optional<std::string>& ou) {
    std::vector<DirectoryEntry> all;
    for (const Directory& directory : directories(tx, actor, ou)) {
        for (DirectoryEntry& entry : tx.directory_entries(directory.ou_id)) {
            all.push_back(std::move(entry));
        }
    }
    return all;
}

std::vector<DirectoryEntry> find(store::ReadTransaction& tx, const Actor& actor,
                                 std::string_view number, const std::optional<std::string>& ou) {
    if (!text::is_valid_utf8(number)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("the number {}", text::describe_invalid_utf8(number)));
    }
    std::vector<DirectoryEntry> found;
    std::optional<phone::Problem> problem;
    bool read = false; // a directory could read the number
    for (const Directory& directory : directories(tx, actor, ou)) {
        auto normalised = phone::normalise(text::trim(number), directory.country);
        if (auto* why = std::get_if<phone::Problem>(&normalised)) {
            problem = *why;
            continue;
        }
        read = true;
        for (DirectoryEntry& entry :
             tx.directory_entries_with_numbers({std::get<std::string>(normalised)})) {
            if (entry.ou_id == directory.ou_id) {
                found.push_back(std::move(entry));
            }
        }
    }
    if (found.empty() && !read && problem) {
        throw Error(ErrorKind::InvalidData, fmt::format("\"{}\" {}", text::escape_controls(number),
                                                        phone::describe(*problem)));
    }
    if (found.empty()) {
        throw Error(ErrorKind::NotFound,
                    fmt::format("no caller with number \"{}\" in the directories you may read",
                                text::escape_controls(number)),
                    "see: nimbus-codes directory list");
    }
    return found;
}

RemoveSummary remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                     const std::optional<std::string>& ou, const std::vector<std::string>& numbers,
                     bool all) {
    const Ou holder = directory_ou(tx, ou);
    policy::require(actor, policy::Action::ManageDirectory, scope_of(holder));
    if (all == !numbers.empty()) {
        throw Error(ErrorKind::Usage, "name the numbers to remove, or --all (not both)");
    }
    const std::optional<Directory> existing = stored_directory(tx, holder.id);
    if (!existing) {
        throw Error(ErrorKind::NotFound, fmt::format("{} has no directory", holder.path),
                    "see: nimbus-codes directory list");
    }
    RemoveSummary summary;
    summary.ou_path = holder.path;
    if (all) {
        tx.delete_directory(holder.id);
        summary.directory_removed = true;
        audit.record(
            "directory.remove", "directory of " + holder.path, holder.id,
            directory_snapshot(static_cast<std::size_t>(existing->entries), existing->country),
            nullptr);
        return summary;
    }
    std::set<std::string> stored;
    for (const DirectoryEntry& entry : tx.directory_entries(holder.id)) {
        stored.insert(entry.number);
    }
    for (const std::string& given : numbers) {
        if (!text::is_valid_utf8(given)) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("the number {}", text::describe_invalid_utf8(given)));
        }
        auto normalised = phone::normalise(text::trim(given), existing->country);
        if (auto* why = std::get_if<phone::Problem>(&normalised)) {
            throw Error(
                ErrorKind::InvalidData,
                fmt::format("\"{}\" {}", text::escape_controls(given), phone::describe(*why)));
        }
        std::string& number = std::get<std::string>(normalised);
        if (!stored.contains(number)) {
            throw Error(ErrorKind::NotFound,
                        fmt::format("no caller {} in the directory of {}; nothing was removed",
                                    number, holder.path),
                        fmt::format("see: nimbus-codes directory list --ou \"{}\"", holder.path));
        }
        if (std::find(summary.removed.begin(), summary.removed.end(), number) ==
            summary.removed.end()) {
            summary.removed.push_back(std::move(number));
        }
    }
    for (const std::string& number : summary.removed) {
        tx.delete_directory_entry(holder.id, number);
    }
    audit.record("directory.remove", "directory of " + holder.path, holder.id,
                 {{"numbers", summary.removed}}, nullptr);
    return summary;
}

void store_caller_numbers(store::WriteTransaction& tx, std::vector<std::string> callers,
                          const std::vector<std::string>& countries) {
    std::sort(callers.begin(), callers.end());
    callers.erase(std::unique(callers.begin(), callers.end()), callers.end());
    // Reading a number takes libphonenumber some microseconds; most callers
    // have called before.
    std::set<std::pair<std::string, std::string>> stored;
    for (CallerNumber& known : tx.caller_numbers(callers)) {
        stored.emplace(std::move(known.caller), std::move(known.country));
    }
    std::vector<CallerNumber> readings;
    for (const std::string& caller : callers) {
        const std::string_view number = text::trim(caller);
        if (number.empty()) {
            continue;
        }
        for (const std::string& country : countries) {
            if (stored.contains(std::make_pair(caller, country))) {
                continue;
            }
            auto e164 = phone::normalise(number, country);
            readings.push_back(
                CallerNumber{caller, country,
                             std::holds_alternative<std::string>(e164)
                                 ? std::optional(std::get<std::string>(std::move(e164)))
                                 : std::nullopt});
        }
    }
    tx.insert_caller_numbers(readings);
}

void store_missing_caller_numbers(store::WriteTransaction& tx, const std::string& country) {
    store_caller_numbers(tx, tx.callers_without_number(country), {country});
}

Callers::Callers(store::ReadTransaction& tx, services::Features& features,
                 const std::vector<Session>& sessions) {
    std::vector<std::int64_t> ids;
    for (const Session& session : sessions) {
        if (!shown_.contains(session.service_id)) {
            shown_.emplace(session.service_id,
                           features.enabled(session.service_id, "caller-information"));
        }
        if (shown(session) && !text::trim(session.caller).empty()) {
            ids.push_back(session.id);
        }
    }
    if (ids.empty()) {
        return;
    }
    // The store matches callers to entries, nearest directory first: on a
    // server, also for those who may not read the directories themselves.
    for (SessionCaller& caller : tx.session_callers(ids)) {
        served_.insert(caller.session_id);
        if (caller.entry) {
            found_.emplace(caller.session_id, std::move(*caller.entry));
        }
    }
}

bool Callers::shown(const Session& session) const {
    const auto known = shown_.find(session.service_id);
    return known != shown_.end() && known->second;
}

const DirectoryEntry* Callers::find(const Session& session) const {
    const auto entry = found_.find(session.id);
    return entry == found_.end() ? nullptr : &entry->second;
}

} // namespace nimbus::directory
