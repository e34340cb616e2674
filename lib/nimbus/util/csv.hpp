#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace nimbus {

/// Reads RFC 4180 CSV one record at a time from a stream, without holding the
/// input in memory. Accepts LF, CRLF and CR line ends (the last from old Mac
/// software) and a leading UTF-8 BOM; skips empty lines. Line breaks inside
/// quoted fields are kept as they are. It knows nothing of nimbus-codes.
class CsvReader {
public:
    explicit CsvReader(std::istream& in);

    /// Reads the next record into `fields`. Returns false at the end of the input.
    /// On malformed quoting, sets error() and skips to the end of that line.
    bool next(std::vector<std::string>& fields);

    /// The line (1-based) on which the record last returned starts.
    std::size_t line() const { return record_line_; }
    /// What was wrong with the record last returned; empty when it was well-formed.
    const std::string& error() const { return error_; }
    /// Bytes consumed so far, for progress.
    std::size_t bytes_read() const { return consumed_; }

private:
    int peek();
    int get();

    std::istream& in_;
    std::vector<char> buffer_;
    std::size_t position_ = 0;
    std::size_t size_ = 0;
    std::size_t consumed_ = 0;
    std::size_t current_line_ = 1;
    std::size_t record_line_ = 0;
    bool after_cr_ = false; ///< the last byte read was a CR
    std::string error_;
};

} // namespace nimbus
