#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nimbus/util/time.hpp>

namespace nimbus {

/// An OU's caller directory: who calls its services and those below it.
struct Directory {
    std::int64_t ou_id = 0;
    std::string ou_path;
    std::string country; ///< ISO 3166 alpha-2: the country of national forms ("044 ...")
    Timestamp imported_at{};
    std::int64_t entries = 0;
};

/// One caller of a directory, as the customer database or CRM gives it.
struct DirectoryEntry {
    std::int64_t ou_id = 0;
    std::string number; ///< E.164: "+41446681800"
    std::string name;
    std::string company;
    std::string email;
    std::string notes;
    /// The file's other columns (name, value), in its order.
    std::vector<std::pair<std::string, std::string>> attributes;

    bool operator==(const DirectoryEntry&) const = default;
};

/// How a session's caller, as the call system wrote it, reads as a phone
/// number in a directory's country: kept in the store, so that the store
/// itself can match sessions to directory entries.
struct CallerNumber {
    std::string caller;
    std::string country;               ///< ISO 3166 alpha-2
    std::optional<std::string> number; ///< E.164; none when it is no phone number there
};

/// A session's caller as the directories that serve its service know it.
struct SessionCaller {
    std::int64_t session_id = 0;
    std::optional<DirectoryEntry> entry; ///< none when no directory knows the caller
};

} // namespace nimbus
