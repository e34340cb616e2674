#include <nimbus/util/csv.hpp>

namespace nimbus {

CsvReader::CsvReader(std::istream& in)
    : in_(in)
    , buffer_(1 << 16) {
    // A UTF-8 byte order mark is not part of the first field.
    if (peek() != EOF && size_ >= 3 && buffer_[0] == '\xEF' && buffer_[1] == '\xBB' &&
        buffer_[2] == '\xBF') {
        position_ = 3;
        consumed_ = 3;
    }
}

int CsvReader::peek() {
    if (position_ == size_) {
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        size_ = static_cast<std::size_t>(in_.gcount());
        position_ = 0;
        if (size_ == 0) {
            return EOF;
        }
    }
    return static_cast<unsigned char>(buffer_[position_]);
}

int CsvReader::get() {
    const int c = peek();
    if (c != EOF) {
        ++position_;
        ++consumed_;
        // CR, LF and CRLF each end one line.
        if (c == '\r' || (c == '\n' && !after_cr_)) {
            ++current_line_;
        }
        after_cr_ = c == '\r';
    }
    return c;
}

bool CsvReader::next(std::vector<std::string>& fields) {
    fields.clear();
    error_.clear();
    // Skip empty lines.
    while (peek() == '\n' || peek() == '\r') {
        get();
    }
    if (peek() == EOF) {
        return false;
    }
    record_line_ = current_line_;
    std::string field;
    bool quoted = false;     // inside a quoted field
    bool was_quoted = false; // the current field was quoted and has closed
    while (true) {
        const int c = get();
        if (quoted) {
            if (c == EOF) {
                error_ = "a quoted field is not closed before the end of the file";
                fields.push_back(std::move(field));
                return true;
            }
            if (c == '"') {
                if (peek() == '"') {
                    get();
                    field.push_back('"');
                } else {
                    quoted = false;
                    was_quoted = true;
                }
            } else {
                field.push_back(static_cast<char>(c));
            }
            continue;
        }
        if (c == ',' || c == '\n' || c == '\r' || c == EOF) {
            fields.push_back(std::move(field));
            field.clear();
            was_quoted = false;
            if (c == ',') {
                continue;
            }
            if (c == '\r' && peek() == '\n') {
                get();
            }
            return true;
        }
        if (c == '"' && field.empty() && !was_quoted) {
            quoted = true;
            continue;
        }
        if (was_quoted || c == '"') {
            error_ = was_quoted ? "text after a closing quote" : "a quote inside an unquoted field";
            // Resynchronise at the end of the line.
            int skipped = c;
            while (skipped != '\n' && skipped != '\r' && skipped != EOF) {
                skipped = get();
            }
            if (skipped == '\r' && peek() == '\n') {
                get();
            }
            fields.push_back(std::move(field));
            return true;
        }
        field.push_back(static_cast<char>(c));
    }
}

} // namespace nimbus
