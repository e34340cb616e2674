#include "console.hpp"

#include <csignal>
#include <cstdlib>
#include <istream>
#include <ostream>
#include <signal.h>

#include <nimbus/util/text.hpp>

namespace nimbus::cli {
namespace {

bool colour_allowed() {
    const char* no_color = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    return (no_color == nullptr || *no_color == '\0') &&
           (term == nullptr || std::string_view(term) != "dumb");
}

} // namespace

Console::Console(std::istream& in, std::ostream& out, std::ostream& err, bool in_is_tty,
                 bool out_is_tty, bool err_is_tty)
    : in_(in)
    , in_is_tty_(in_is_tty)
    , out_(out)
    , err_(err)
    , out_is_tty_(out_is_tty)
    , err_is_tty_(err_is_tty) {
    configure(false, false);
}

void Console::configure(bool quiet, bool no_color) {
    quiet_ = quiet;
    const bool colour = !no_color && colour_allowed();
    color_out_ = colour && out_is_tty_;
    color_err_ = colour && err_is_tty_;
}

// Messages repeat what they were given (names from a file, a caller, an
// e-mail): its control characters are escaped here, where every message passes.

void Console::note(std::string_view text) {
    end_status();
    if (!quiet_) {
        err_ << text::escape_controls(text) << '\n';
    }
}

void Console::warning(std::string_view text) {
    if (!quiet_) {
        err_ << "nimbus-codes: " << (color_err_ ? "\033[1;33mwarning:\033[0m " : "warning: ")
             << text::escape_controls(text) << '\n';
    }
}

void Console::problem(std::string_view text) {
    end_status();
    err_ << text::escape_controls(text) << '\n';
}

void Console::status(std::string_view text) {
    if (quiet_ || !err_is_tty_) {
        return;
    }
    err_ << '\r' << text::escape_controls(text) << "\033[K" << std::flush;
    status_shown_ = true;
}

void Console::end_status() {
    if (status_shown_) {
        err_ << "\r\033[K" << std::flush;
        status_shown_ = false;
    }
}

void Console::say(std::string_view text) {
    end_status();
    err_ << text::escape_controls(text) << '\n';
}

namespace {

volatile std::sig_atomic_t sigint_seen = 0;

extern "C" void note_sigint(int) {
    sigint_seen = 1;
}

} // namespace

Console::Questions::Questions() {
    struct sigaction action {};
    action.sa_handler = note_sigint; // no SA_RESTART: a read in progress returns
    sigemptyset(&action.sa_mask);
    sigint_seen = 0;
    ::sigaction(SIGINT, &action, &previous_);
}

Console::Questions::~Questions() {
    ::sigaction(SIGINT, &previous_, nullptr);
}

std::optional<std::string> Console::ask(std::string_view question) {
    end_status();
    err_ << text::escape_controls(question) << std::flush;
    std::string answer;
    if (sigint_seen != 0 || !std::getline(in_, answer) || sigint_seen != 0) {
        interrupted_ = sigint_seen != 0;
        err_ << '\n';
        return std::nullopt;
    }
    return answer;
}

void Console::heading(std::string_view text) {
    end_status();
    const std::string safe = text::escape_controls(text);
    err_ << (color_err_ ? "\033[1m" + safe + "\033[0m" : safe) << '\n';
}

void Console::error(std::string_view what, std::string_view hint) {
    end_status();
    err_ << "nimbus-codes: " << (color_err_ ? "\033[1;31merror:\033[0m " : "error: ")
         << text::escape_controls(what) << '\n';
    if (!hint.empty()) {
        err_ << "nimbus-codes: hint: " << text::escape_controls(hint) << '\n';
    }
    err_.flush();
}

} // namespace nimbus::cli
