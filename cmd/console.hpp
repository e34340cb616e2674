#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include <signal.h>

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
    /// While it lives, Ctrl-C does not end the program: the question being
    /// asked (or the next one) gets no answer and interrupted() says why, so
    /// that the program can say that nothing was written before it ends.
    class Questions {
    public:
        Questions();
        ~Questions();
        Questions(const Questions&) = delete;
        Questions& operator=(const Questions&) = delete;

    private:
        struct sigaction previous_ {};
    };

    /// Asks a question on stderr and reads one line of answer; nullopt at the
    /// end of input, or when the person pressed Ctrl-C (then interrupted()).
    std::optional<std::string> ask(std::string_view question);
    /// True once Ctrl-C ended a question: the program should end by SIGINT,
    /// as a shell expects of an interrupted program, once it has said so.
    bool interrupted() const { return interrupted_; }
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
    bool interrupted_ = false;
};

} // namespace nimbus::cli
