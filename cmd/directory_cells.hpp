#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include <nimbus/directory/directory.hpp>
#include <nimbus/directory/model.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::cli {

/// A caller's whole entry, for programs.
inline nlohmann::ordered_json entry_json(const DirectoryEntry& entry) {
    nlohmann::ordered_json object = {
        {"number", entry.number},   {"name", entry.name},
        {"company", entry.company}, {"email", entry.email},
        {"notes", entry.notes},     {"attributes", nlohmann::ordered_json::object()}};
    for (const auto& [name, value] : entry.attributes) {
        object["attributes"][name] = value;
    }
    return object;
}

/// A caller's further columns as one JSON object, in the file's order.
inline output::Cell attributes_cell(const DirectoryEntry& entry) {
    return output::RawJson{entry_json(entry)["attributes"].dump()};
}

/// Who is calling, in a few words: "Anna Muster, Muster AG" for a caller in
/// the directory, and what is missing otherwise. Only for shown sessions.
inline std::string caller_summary(const directory::Callers& callers, const Session& session) {
    if (text::trim(session.caller).empty()) {
        return "(no number)";
    }
    const DirectoryEntry* entry = callers.find(session);
    if (entry == nullptr) {
        return callers.served(session) ? "(not in the directory)" : "(no directory)";
    }
    if (entry->name.empty() || entry->company.empty()) {
        return entry->name + entry->company;
    }
    return entry->name + ", " + entry->company;
}

/// The directory's cell for programs: the caller's whole entry, {} for a
/// caller not in the directory, and null where the service does not show callers.
inline output::Cell directory_cell(const directory::Callers& callers, const Session& session) {
    if (!callers.shown(session)) {
        return output::Cell();
    }
    const DirectoryEntry* entry = callers.find(session);
    return output::RawJson{entry != nullptr ? entry_json(*entry).dump() : "{}"};
}

} // namespace nimbus::cli
