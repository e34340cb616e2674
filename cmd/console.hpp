#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include <nimbus/output/rows.hpp>

namespace nimbus::cli {

/// The one place that writes to the terminal: data to stdout, messages and
/// errors to stderr, colour only on a terminal and never with NO_COLOR.
class Console {
public:
    Console(std::istream& in, std::ostream& out, std::ostream& err, bool in_is_tty, bool out_is_tty,
            bool err_is_tty);

    /// Applies --quiet and --no-color once the command line is parsed.
    void configure(bool quiet, bool no_color);

    std::ostream& out() { return out_; }
    /// Standard error as it is, for the parser's own help and error text.
    std::ostream& err() { return err_; }
    output::Style table_style() const { return output::Style{color_out_}; }

    /// An informational line on stderr ("created ...", "unchanged: ..."); --quiet silences it.
    void note(std::string_view text);
    /// "nimbus-codes: warning: ..." on stderr; --quiet silences it.
    void warning(std::string_view text);
    /// "nimbus-codes: error: ..." and an optional hint line; never silenced.
    void error(std::string_view what, std::string_view hint);
    /// A line about bad input ("FILE:LINE: reason"); never silenced.
    void problem(std::string_view text);
    /// A transient progress line, only on a terminal and without --quiet.
    void status(std::string_view text);
    /// Clears the progress line, if one is shown.
    void end_status();

    /// True when a person can answer questions (stdin is a terminal).
    bool interactive() const { return in_is_tty_; }
    /// Shows a line to the person (stderr), whatever --quiet says.
    void say(std::string_view text);
    /// Asks a question on stderr and reads one line of answer; nullopt at the end of input.
    std::optional<std::string> ask(std::string_view question);
    /// A line in bold (on a terminal that takes colour), whatever --quiet says.
    void heading(std::string_view text);

private:
    std::istream& in_;
    bool in_is_tty_;
    std::ostream& out_;
    std::ostream& err_;
    bool out_is_tty_;
    bool err_is_tty_;
    bool quiet_ = false;
    bool color_out_ = false;
    bool color_err_ = false;
    bool status_shown_ = false;
};

} // namespace nimbus::cli
