#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <nimbus/identity/identity.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/store/open.hpp>
#include <nimbus/util/files.hpp>
#include <nimbus/util/time.hpp>

#include "app.hpp"

namespace nimbus::cli {

class Console;

/// What running a command takes from outside its arguments: the clock, the OS
/// account, the identity file and the store. The binary uses the system's own;
/// tests derive from it to watch when the dispatcher reaches for each.
class Runtime {
public:
    virtual ~Runtime() = default;

    virtual Timestamp now() const;
    virtual std::string os_login() const;
    /// --identity, else NIMBUS_CODES_IDENTITY (read by the parser), else the default path.
    virtual std::string identity_path(const Globals& globals) const;
    virtual identity::Identity load_identity(const Globals& globals) const;
    /// --store, else NIMBUS_CODES_STORE, else the default path.
    virtual store::Locator store_locator(const Globals& globals) const;
    virtual std::unique_ptr<store::Store> open_store(const Globals& globals) const;
};

/// Where a command's results go, resolved before it ran.
struct Delivery {
    std::optional<OutputTarget> data;    ///< instead of standard output
    std::optional<OutputTarget> summary; ///< Result::summary
};

/// A command's result and where it goes.
struct Outcome {
    Result result;
    Delivery delivery;
    bool committed = false; ///< a write transaction was committed
};

/// Runs a command, in this order: loads the identity and checks the role
/// table (init has neither); checks what the command line asks of it (the
/// format, its own options, that every output may be written and is none of
/// the files the command reads or keeps) before any file is created or any
/// store opened; reads its input; then opens what the body's signature asks
/// for and runs it in one transaction, committed unless the result says to
/// roll back. Nothing is rendered here.
Outcome dispatch(const Command& command, const Globals& globals, Console& console,
                 const Runtime& runtime);

/// Renders a result in `format` to `out`: the HTML page for html; rows,
/// unless a table of a command that has its own text; the text otherwise;
/// and the footer under a table.
void render(std::ostream& out, const Result& result, output::Format format,
            const output::Style& style);

/// Writes a dispatched result where it goes (files are written in full, then
/// all put in place), then the messages for stderr.
void deliver(Outcome& outcome, output::Format format, Console& console);

/// The --format value as a Format (the parser accepts only known names).
output::Format format_of(const Globals& globals);

} // namespace nimbus::cli
