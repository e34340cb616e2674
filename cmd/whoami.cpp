#include "app.hpp"

namespace nimbus::cli {
namespace {

Result whoami(const IdentityContext& context) {
    const identity::User& user = *context.actor.user;
    output::Rows rows;
    rows.columns = {{"user", "USER"},
                    {"via", "VIA"},
                    {"name", "NAME"},
                    {"email", "EMAIL"},
                    {"tenant_admin", "TENANT ADMIN"},
                    {"ou_admin", "OU ADMIN"},
                    {"owner", "OWNER"},
                    {"supervisor", "SUPERVISOR"},
                    {"member", "MEMBER"},
                    {"identity_file", "IDENTITY FILE"}};
    const auto via = context.actor.via();
    rows.add({user.login, via ? output::Cell(*via) : output::Cell(), user.name, user.email,
              user.tenant_admin, user.ou_admin, user.owner, user.supervisor, user.member,
              context.identity.source});
    return Result::record(std::move(rows));
}

} // namespace

void add_whoami_command(CLI::App& app, Registry& registry) {
    CLI::App* command = app.add_subcommand("whoami", "Show who you are and what you may do");
    registry.add(command, Command{policy::Action::ReadIdentity, IdentityBody(whoami)});
}

} // namespace nimbus::cli
