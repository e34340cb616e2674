#include <fmt/format.h>

#include <nimbus/error.hpp>

#include <nimbus/reports/export.hpp>
#include <nimbus/reports/html.hpp>
#include <nimbus/reports/per_service.hpp>
#include <nimbus/reports/usage.hpp>

#include "app.hpp"
#include "console.hpp"
#include "environment.hpp"

namespace nimbus::cli {
namespace {

struct UsageArgs {
    std::vector<std::string> services;
    std::string ou;
    std::string month;
    std::string from;
    std::string to;
    std::string by = "code";
    std::string type;
    std::vector<std::string> codes;
    std::vector<std::string> tags;
    std::vector<std::string> context; ///< --context NAME=VALUE
    std::string user;
    std::string names = "at-time";
    bool recount = false;
    std::string zone = "UTC";
    std::string output;
    std::string summary;
    std::string per_service; ///< --per-service DIR
};

/// The filters a report was made with, as people read them.
std::vector<std::pair<std::string, std::string>> filters_of(const UsageArgs& args,
                                                            const reports::UsageReport& report) {
    const auto join = [](const std::vector<std::string>& items, const char* none) {
        std::string text;
        for (const std::string& item : items) {
            text += (text.empty() ? "" : ", ") + item;
        }
        return text.empty() ? std::string(none) : text;
    };
    std::vector<std::pair<std::string, std::string>> filters = {
        {"Period", report.period.first.text() + " to " + report.period.last.text()},
        {"Time zone", report.zone},
        {"Services", join(args.services, "all in scope")},
        {"Grouped by", args.by},
        {"Names", args.names}};
    if (!args.ou.empty()) {
        filters.emplace_back("OU", args.ou);
    }
    if (!args.type.empty()) {
        filters.emplace_back("Type", args.type);
    }
    if (!args.codes.empty()) {
        filters.emplace_back("Codes", join(args.codes, ""));
    }
    if (!args.tags.empty()) {
        filters.emplace_back("Tags", join(args.tags, ""));
    }
    if (!args.context.empty()) {
        filters.emplace_back("Context", join(args.context, ""));
    }
    if (!args.user.empty()) {
        filters.emplace_back("User", args.user);
    }
    return filters;
}

Result usage_per_service(const ReadContext& context, const reports::UsageRequest& request,
                         const std::string& dir, Timestamp now) {
    const reports::PerServiceResult written = reports::usage_per_service(
        context.tx, context.actor, context.identity, request, now, dir, context.format);
    output::Rows rows;
    rows.columns = {{"service", "SERVICE"}, {"file", "FILE"}, {"rows", "ROWS"}};
    for (const reports::ServiceReportFile& file : written.files) {
        rows.add({file.service, file.name, static_cast<std::int64_t>(file.rows)});
    }
    Result result = Result::list(std::move(rows));
    result.notes.push_back(fmt::format("wrote {} report{} of {} to {} to {} (see manifest.json)",
                                       written.files.size(), written.files.size() == 1 ? "" : "s",
                                       written.period.first.text(), written.period.last.text(),
                                       dir));
    return result;
}

Result usage(const ReadContext& context, const UsageArgs& args) {
    reports::UsageRequest request;
    request.services = args.services;
    request.ou = given(args.ou);
    request.period = reports::PeriodSpec{given(args.month), given(args.from), given(args.to)};
    request.by = reports::parse_dimensions(args.by, &request.context_field);
    request.type = parse_code_type(args.type);
    request.codes = args.codes;
    request.tags = args.tags;
    for (const std::string& pair : args.context) {
        const std::size_t equals = pair.find('=');
        if (equals == std::string::npos) {
            throw Error(ErrorKind::Usage, fmt::format("--context \"{}\" is not NAME=VALUE", pair),
                        "e.g. --context Reason=Billing");
        }
        request.context.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
    }
    request.user = given(args.user);
    request.current_names = args.names == "current";
    request.recount = args.recount;
    request.zone = args.zone;
    const Timestamp now = environment::now();
    if (!args.per_service.empty()) {
        return usage_per_service(context, request, args.per_service, now);
    }
    reports::UsageReport report =
        reports::usage(context.tx, context.actor, context.identity, request, now);

    Result result;
    if (context.format == output::Format::Html) {
        // The chart draws the same sessions by month and code, whatever the table shows.
        reports::UsageRequest monthly = request;
        monthly.by = {reports::Dimension::Month, reports::Dimension::Code};
        const reports::UsageReport by_month =
            reports::usage(context.tx, context.actor, context.identity, monthly, now);
        result.html = reports::usage_html(
            report, by_month, request.type.value_or(CodeType::Primary), filters_of(args, report));
    }
    result.rows = std::move(report.rows);
    const reports::Summary& s = report.summary;
    result.footer = fmt::format("\n{} to {} ({}): {} sessions, {}, {} unconcluded\n",
                                report.period.first.text(), report.period.last.text(), report.zone,
                                s.total, s.concluded_text(), s.unconcluded);
    if (!args.summary.empty()) {
        result.summary = report.summary_rows();
    }
    return result;
}

struct ExportArgs {
    std::string dir;
    std::string from;
    std::string to;
    std::vector<std::string> services;
    std::string zone = "UTC";
};

Result export_model(const ReadContext& context, const ExportArgs& args) {
    reports::ExportRequest request;
    request.dir = args.dir;
    request.from = given(args.from);
    request.to = given(args.to);
    request.services = args.services;
    request.zone = args.zone;
    const reports::ExportResult exported =
        reports::export_model(context.tx, context.actor, context.identity, request,
                              context.schema_version, environment::now(), [&](std::size_t rows) {
                                  context.console.status(fmt::format("{} rows written", rows));
                              });
    context.console.end_status();
    output::Rows rows;
    rows.columns = {{"file", "FILE"}, {"rows", "ROWS"}, {"sha256", "SHA-256"}};
    for (const reports::ExportedFile& file : exported.files) {
        rows.add({file.name, static_cast<std::int64_t>(file.rows), file.sha256});
    }
    Result result = Result::list(std::move(rows));
    result.notes.push_back(
        fmt::format("wrote the reporting model to {} (see manifest.json)", args.dir));
    return result;
}

/// "Group by a comma list of month, day, ..., context.NAME", from the table.
std::string by_help() {
    std::string text = "Group by a comma list of";
    const std::vector<std::string> names = reports::dimension_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
        text += (i == 0 ? " " : ", ") + names[i];
    }
    return text;
}

} // namespace

void add_report_commands(CLI::App& app, Registry& registry) {
    CLI::App* report = add_noun(app, "report", "Reports of code usage");

    auto args = std::make_shared<UsageArgs>();
    CLI::App* usage_command = report->add_subcommand(
        "usage", "Concluded sessions per code, tag, month, ...: monthly usage for owners and cron");
    usage_command->add_option("--service", args->services, "Only this service (repeatable)")
        ->type_name("SERVICE");
    usage_command->add_option("--ou", args->ou, "Only services in this OU and below")
        ->type_name("PATH");
    CLI::Option* month = usage_command->add_option(
        "--month", args->month, "A calendar month, or 'last' (default: this month)");
    month->type_name("YYYY-MM|last");
    CLI::Option* from =
        usage_command->add_option("--from", args->from, "First day")->type_name("DATE");
    CLI::Option* to =
        usage_command->add_option("--to", args->to, "Last day (included)")->type_name("DATE");
    from->excludes(month);
    to->excludes(month);
    usage_command->add_option("--by", args->by, by_help())
        ->capture_default_str()
        ->type_name("DIMS");
    usage_command->add_option("--type", args->type, "Only codes of this type")
        ->check(one_of({"primary", "secondary"}))
        ->type_name("primary|secondary");
    usage_command->add_option("--code", args->codes, "Only this code (repeatable)")
        ->type_name("CODE");
    usage_command->add_option("--tag", args->tags, "Only sessions with this tag (repeatable)")
        ->type_name("TAG");
    usage_command
        ->add_option("--context", args->context,
                     "Only sessions with this context value (repeatable), as NAME=VALUE")
        ->type_name("NAME=VALUE");
    usage_command->add_option("--user", args->user, "Only this agent's sessions")
        ->type_name("USER");
    usage_command
        ->add_option("--names", args->names, "Codes under their names when concluded, or today's")
        ->check(one_of({"at-time", "current"}))
        ->capture_default_str()
        ->type_name("at-time|current");
    usage_command->add_flag("--recount", args->recount,
                            "Count the sessions themselves, not the rollups kept with them "
                            "(the same report, slower)");
    usage_command->add_option("--tz", args->zone, "IANA time zone that cuts days and months")
        ->capture_default_str()
        ->type_name("ZONE");
    CLI::Option* output_option =
        usage_command
            ->add_option("--output", args->output, "Write to FILE atomically instead of stdout")
            ->type_name("FILE");
    CLI::Option* summary_option =
        usage_command
            ->add_option("--summary", args->summary,
                         "Also write the period's totals to FILE, in the same format")
            ->type_name("FILE");
    CLI::Option* per_service =
        usage_command
            ->add_option("--per-service", args->per_service,
                         "Write each service's report to a file of its own in DIR, replaced "
                         "whole (csv or json)")
            ->type_name("DIR");
    per_service->excludes(output_option);
    per_service->excludes(summary_option);
    Command usage_report{policy::Action::ReadReports,
                         ReadBody([args](const ReadContext& c) { return usage(c, *args); })};
    usage_report.formats = {output::Format::Table, output::Format::Json, output::Format::Csv,
                            output::Format::Html};
    usage_report.check = [args](output::Format format) {
        reports::parse_dimensions(args->by);
        if (!args->per_service.empty()) {
            reports::check_per_service_folder(args->per_service, format);
        }
        if (format == output::Format::Html && !args->summary.empty()) {
            throw Error(ErrorKind::Usage, "--summary takes --format table, json or csv",
                        "the HTML page shows the totals itself: leave out --summary");
        }
    };
    usage_report.outputs = [args] {
        std::vector<OutputFile> files;
        if (!args->output.empty()) {
            files.push_back(OutputFile{OutputFile::Role::Data, "--output", args->output});
        }
        if (!args->summary.empty()) {
            files.push_back(OutputFile{OutputFile::Role::Summary, "--summary", args->summary});
        }
        if (!args->per_service.empty()) {
            files.push_back(
                OutputFile{OutputFile::Role::Folder, "--per-service", args->per_service});
        }
        return files;
    };
    registry.add(usage_command, std::move(usage_report));

    auto export_args = std::make_shared<ExportArgs>();
    CLI::App* export_command = report->add_subcommand(
        "export", "Write the reporting model (CSV star schema and manifest) for Power BI");
    export_command
        ->add_option("--dir", export_args->dir,
                     "Folder to write: new, empty, or an earlier export, which is replaced whole")
        ->required()
        ->type_name("DIR");
    export_command->add_option("--from", export_args->from, "First day (default: all)")
        ->type_name("DATE");
    export_command->add_option("--to", export_args->to, "Last day, included")->type_name("DATE");
    export_command->add_option("--service", export_args->services, "Only this service (repeatable)")
        ->type_name("SERVICE");
    export_command->add_option("--tz", export_args->zone, "IANA time zone of the date keys")
        ->capture_default_str()
        ->type_name("ZONE");
    Command export_report{
        policy::Action::ReadReports,
        ReadBody([export_args](const ReadContext& c) { return export_model(c, *export_args); })};
    export_report.outputs = [export_args] {
        return std::vector<OutputFile>{
            OutputFile{OutputFile::Role::Folder, "--dir", export_args->dir}};
    };
    export_report.check = [export_args](output::Format) {
        reports::check_export_folder(export_args->dir);
    };
    registry.add(export_command, std::move(export_report));
}

} // namespace nimbus::cli
