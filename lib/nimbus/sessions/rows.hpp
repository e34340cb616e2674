#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include <nimbus/sessions/sessions.hpp>

/// Reading session rows from the call system's files, before any checking.
namespace nimbus::sessions {

/// A row as read: its line, its fields as text, or what made it unreadable.
struct RawRow {
    std::size_t line = 0;
    RawSession fields;
    std::string error; ///< empty when the row was read well
};

/// Reads rows one at a time, streaming. CSV needs a header row naming the
/// columns (id, service, user, direction, started_at, ended_at, outcome,
/// caller, waiting_seconds, talk_seconds, context.NAME; others are ignored); JSON Lines needs one
/// object per line (other fields are ignored, null is empty). Never throws on a bad row: the row
/// carries the error. A CSV header without a required column, and a file that holds only blank
/// lines (and no header), throw InvalidData.
class RowReader {
public:
    static std::unique_ptr<RowReader> open(std::istream& in, InputFormat format,
                                           const std::string& source);
    virtual ~RowReader() = default;

    virtual bool next(RawRow& row) = 0;
    virtual std::size_t bytes() const = 0; ///< consumed so far, for progress
    virtual std::vector<std::string> ignored_columns() const { return {}; }
};

} // namespace nimbus::sessions
