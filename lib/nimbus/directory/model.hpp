#pragma once

#include <cstdint>
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

} // namespace nimbus
