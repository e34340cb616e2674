// The command layer's dispatcher: the order in which it checks, opens and
// runs, what it refuses before anything is written, and how it renders.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <nimbus/audit/history.hpp>
#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>

#include <cmd/app.hpp>
#include <cmd/console.hpp>
#include <cmd/dispatch.hpp>
#include <cmd/environment.hpp>

#include "support.hpp"

using namespace nimbus;
using namespace nimbus::cli;

namespace {

/// The system's runtime with a fixed clock and caller, noting when the
/// dispatcher reads the identity file and opens the store.
class WatchedRuntime : public Runtime {
public:
    WatchedRuntime(std::vector<std::string>& log, std::string login)
        : log_(log)
        , login_(std::move(login)) {}

    Timestamp now() const override { return test::test_time(); }
    std::string os_login() const override { return login_; }
    identity::Identity load_identity(const Globals& globals) const override {
        log_.push_back("identity");
        return Runtime::load_identity(globals);
    }
    std::unique_ptr<store::Store> open_store(const Globals& globals) const override {
        log_.push_back("open");
        return Runtime::open_store(globals);
    }

private:
    std::vector<std::string>& log_;
    std::string login_;
};

/// A store, an identity file, a console over strings, and a log of what ran.
struct Fixture {
    test::TempStore temp;
    std::string identity_path = (temp.dir.path() / "identity.toml").string();
    Globals globals;
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    Console console{in, out, err, false, false, false};
    std::vector<std::string> log;

    Fixture() {
        std::ofstream(identity_path) << test::test_identity_text();
        ::chmod(identity_path.c_str(), 0600);
        globals.store = temp.path;
        globals.identity = identity_path;
    }

    Outcome run(const Command& command, const std::string& login = "admin") {
        return dispatch(command, globals, console, WatchedRuntime(log, login));
    }

    /// A command that creates the primary code "Sale" and notes each step.
    Command create_code() {
        Command command{policy::Action::ChangeCodes, WriteBody([this](const WriteContext& c) {
                            log.push_back("body");
                            codes::create(c.tx, c.audit, c.actor,
                                          codes::Draft{CodeType::Primary, "Sale", "", {}});
                            return Result{};
                        })};
        command.name = "code create";
        command.check = [this](output::Format) {
            log.push_back("check");
        };
        command.prepare = [this] {
            log.push_back("prepare");
        };
        return command;
    }

    std::size_t code_count() {
        return temp.store->begin_read()->codes(store::CodeFilter{std::nullopt, true}).size();
    }
};

ErrorKind failure(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.kind();
    }
    FAIL("no error");
    return ErrorKind::Internal;
}

} // namespace

TEST_CASE("dispatch: identity, role, checks, input, store, body, in that order") {
    Fixture f;
    const Outcome outcome = f.run(f.create_code());
    CHECK(f.log == std::vector<std::string>{"identity", "check", "prepare", "open", "body"});
    CHECK(outcome.committed);
    CHECK(f.code_count() == 1);
}

TEST_CASE("dispatch: a role refused stops before any check, input or store") {
    Fixture f;
    CHECK(failure([&] { f.run(f.create_code(), "agent"); }) == ErrorKind::PermissionDenied);
    CHECK(f.log == std::vector<std::string>{"identity"});
    CHECK(f.code_count() == 0);
}

TEST_CASE("dispatch: a format the command does not take is refused before its own checks") {
    Fixture f;
    f.globals.format = "html";
    CHECK(failure([&] { f.run(f.create_code()); }) == ErrorKind::Usage);
    CHECK(f.log == std::vector<std::string>{"identity"});
    CHECK(f.code_count() == 0);
}

TEST_CASE("dispatch: a command's own check refuses before input or store") {
    Fixture f;
    Command command = f.create_code();
    command.check = [&](output::Format) {
        f.log.push_back("check");
        throw Error(ErrorKind::Usage, "no");
    };
    CHECK(failure([&] { f.run(command); }) == ErrorKind::Usage);
    CHECK(f.log == std::vector<std::string>{"identity", "check"});
}

TEST_CASE("dispatch: a body that fails after writing leaves nothing behind") {
    Fixture f;
    Command command = f.create_code();
    const auto create = std::get<WriteBody>(command.body);
    command.body = WriteBody([create](const WriteContext& c) -> Result {
        create(c);
        throw Error(ErrorKind::InvalidData, "changed its mind");
    });
    CHECK(failure([&] { f.run(command); }) == ErrorKind::InvalidData);
    CHECK(f.code_count() == 0);
}

TEST_CASE("dispatch: a result that asks for a rollback is not committed") {
    Fixture f;
    Command command = f.create_code();
    const auto create = std::get<WriteBody>(command.body);
    command.body = WriteBody([create](const WriteContext& c) {
        Result result = create(c);
        result.rollback = true;
        return result;
    });
    CHECK_FALSE(f.run(command).committed);
    CHECK(f.code_count() == 0);
}

TEST_CASE("dispatch: a prompt that stops the command keeps the body from running") {
    Fixture f;
    Command command = f.create_code();
    command.prompt = [&](const ReadContext&) -> std::optional<Result> {
        f.log.push_back("prompt");
        return Result{};
    };
    f.run(command);
    CHECK(f.log == std::vector<std::string>{"identity", "check", "prepare", "open", "prompt"});
    CHECK(f.code_count() == 0);
}

TEST_CASE("dispatch: outputs that are the store, the identity file or each other are refused") {
    Fixture f;
    auto output = std::make_shared<std::vector<OutputFile>>();
    Command command{policy::Action::ReadCodes, ReadBody([&](const ReadContext&) {
                        f.log.push_back("body");
                        return Result{};
                    })};
    command.name = "code list";
    command.outputs = [output] {
        return *output;
    };
    const std::string report = (f.temp.dir.path() / "report.csv").string();
    const auto refused = [&](std::vector<OutputFile> files) {
        *output = std::move(files);
        f.log.clear();
        const ErrorKind kind = failure([&] { f.run(command); });
        CHECK(f.log == std::vector<std::string>{"identity"});
        return kind;
    };
    using Role = OutputFile::Role;
    CHECK(refused({{Role::Data, "--output", f.temp.path}}) == ErrorKind::Usage);
    CHECK(refused({{Role::Data, "--output", f.temp.path + "-wal"}}) == ErrorKind::Usage);
    CHECK(refused({{Role::Data, "--output", f.identity_path}}) == ErrorKind::Usage);
    CHECK(refused({{Role::Data, "--output", report}, {Role::Summary, "--summary", report}}) ==
          ErrorKind::Usage);
    CHECK(refused({{Role::Data, "--output", "-"}, {Role::Summary, "--summary", "/dev/stdout"}}) ==
          ErrorKind::Usage);
    CHECK(refused({{Role::Folder, "--dir", f.temp.path}}) == ErrorKind::Usage);
    CHECK_FALSE(std::filesystem::exists(report));

    // The same names through another spelling are still the same files.
    const std::string dotted = (f.temp.dir.path() / "." / "store.db").string();
    CHECK(refused({{Role::Data, "--output", dotted}}) == ErrorKind::Usage);

    *output = {{Role::Data, "--output", report}};
    f.log.clear();
    Outcome outcome = f.run(command);
    CHECK(f.log == std::vector<std::string>{"identity", "open", "body"});
    REQUIRE(outcome.delivery.data);
    CHECK(outcome.delivery.data->kind() == OutputTarget::Kind::File);
}

TEST_CASE("dispatch: a command whose rule has a scope is refused unless it checked it") {
    Fixture f;
    // A code created straight in the store, with no check of the OU it is in.
    const auto insert_code = [](const WriteContext& c) {
        c.tx.insert_code(store::NewCode{CodeType::Primary, "Sale", "sale", "", ous::root(c.tx).id,
                                        test::test_time()});
    };
    Command forgetful{policy::Action::ChangeCodes, WriteBody([&](const WriteContext& c) {
                          insert_code(c);
                          return Result{};
                      })};
    forgetful.name = "code create";
    try {
        f.run(forgetful);
        FAIL("expected Internal");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Internal);
        CHECK(std::string(e.what()).starts_with("'code create' ended without checking"));
    }
    CHECK(f.code_count() == 0); // rolled back

    // Neither the role anywhere nor another action's scope is the check.
    forgetful.body = WriteBody([&](const WriteContext& c) {
        insert_code(c);
        policy::require(c.actor, policy::Action::ChangeCodes, policy::Scope::anywhere());
        policy::require(c.actor, policy::Action::ReadAudit, policy::Scope::tenant());
        return Result{};
    });
    CHECK(failure([&] { f.run(forgetful); }) == ErrorKind::Internal);
    CHECK(f.code_count() == 0);

    // The same with the check is kept.
    Command careful = forgetful;
    careful.body = WriteBody([&](const WriteContext& c) {
        const Ou root = ous::root(c.tx);
        policy::require(c.actor, policy::Action::ChangeCodes,
                        policy::Scope::ou(root.path, root.path_key));
        insert_code(c);
        return Result{};
    });
    CHECK(f.run(careful).committed);
    CHECK(f.code_count() == 1);
}

TEST_CASE("dispatch: a listing checks its scope by filtering, even with nothing to show") {
    Fixture f;
    Command forgetful{policy::Action::ReadAudit, ReadBody([](const ReadContext& c) {
                          (void)c.tx.audit_entries(store::AuditFilter{});
                          return Result{};
                      })};
    forgetful.name = "audit list";
    CHECK(failure([&] { f.run(forgetful, "sales"); }) == ErrorKind::Internal);

    Command filtering{policy::Action::ReadAudit, ReadBody([](const ReadContext& c) {
                          CHECK(audit::list(c.tx, c.actor, store::AuditFilter{}).empty());
                          return Result{};
                      })};
    filtering.name = "audit list";
    CHECK_NOTHROW(f.run(filtering, "sales"));

    // A rule without a scope has nothing more to check.
    Command unscoped{policy::Action::ReadCodes,
                     ReadBody([](const ReadContext&) { return Result{}; })};
    unscoped.name = "code list";
    CHECK_NOTHROW(f.run(unscoped, "sales"));
}

TEST_CASE("dispatch: init takes no --as") {
    Fixture f;
    bool ran = false;
    Command init{std::nullopt, InitBody([&](const InitContext&) {
                     ran = true;
                     return Result{};
                 })};
    init.name = "init";
    f.globals.act_as = "agent";
    CHECK(failure([&] { f.run(init); }) == ErrorKind::Usage);
    CHECK_FALSE(ran);
    f.globals.act_as.clear();
    f.run(init);
    CHECK(ran);
}

TEST_CASE("render: the page for html, text over rows in a table, rows for programs") {
    Result result;
    result.rows.emplace();
    result.rows->columns = {{"name", "NAME"}};
    result.rows->add({std::string("Sale")});
    result.text = "plan text\n";
    result.footer = "footer\n";
    result.html = "<html></html>";
    const auto rendered = [&](output::Format format) {
        std::ostringstream out;
        render(out, result, format, output::Style{});
        return out.str();
    };
    CHECK(rendered(output::Format::Html) == "<html></html>");
    CHECK(rendered(output::Format::Table) == "plan text\nfooter\n");
    CHECK(rendered(output::Format::Json).find("\"name\": \"Sale\"") != std::string::npos);
    CHECK(rendered(output::Format::Json).find("footer") == std::string::npos);
    CHECK(rendered(output::Format::Csv) == "name\r\nSale\r\n");
    result.text.reset();
    CHECK(rendered(output::Format::Table) == "NAME\nSale\nfooter\n");
    result.html.reset();
    CHECK(failure([&] { rendered(output::Format::Html); }) == ErrorKind::Internal);
}

TEST_CASE("deliver: data and summary files are written whole, and said so") {
    Fixture f;
    const std::string data = (f.temp.dir.path() / "data.csv").string();
    const std::string summary = (f.temp.dir.path() / "summary.csv").string();
    Outcome outcome;
    outcome.result.rows.emplace();
    outcome.result.rows->columns = {{"n", "N"}};
    outcome.result.rows->add({std::int64_t{1}});
    outcome.result.summary = outcome.result.rows;
    outcome.delivery.data = OutputTarget::resolve(data);
    outcome.delivery.summary = OutputTarget::resolve(summary);
    deliver(outcome, output::Format::Csv, f.console);
    CHECK(f.out.str().empty());
    std::ostringstream written;
    written << std::ifstream(data).rdbuf();
    CHECK(written.str() == "n\r\n1\r\n");
    CHECK(std::filesystem::exists(summary));
    CHECK(f.err.str() == "wrote " + data + "\nwrote " + summary + "\n");
}

TEST_CASE("run: a refused option leaves the store as it was") {
    Fixture f;
    std::ofstream(f.identity_path)
        << "[users." << environment::os_login() << "]\nname = \"Runner\"\ntenant_admin = true\n";
    const std::vector<const char*> argv = {"nimbus-codes",
                                           "--store",
                                           f.temp.path.c_str(),
                                           "--identity",
                                           f.identity_path.c_str(),
                                           "code",
                                           "create",
                                           "--type",
                                           "primary",
                                           "--name",
                                           "Sale",
                                           "--format",
                                           "html"};
    CHECK(run(static_cast<int>(argv.size()), argv.data(), f.console) == 64);
    CHECK(f.err.str().find("'code create' does not take --format html") != std::string::npos);
    CHECK(f.out.str().empty());
    CHECK(f.code_count() == 0);
}
