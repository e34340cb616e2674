#include <nimbus/reports/per_service.hpp>

#include <algorithm>
#include <cctype>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/reports/folders.hpp>
#include <nimbus/util/files.hpp>
#include <nimbus/util/time.hpp>

namespace nimbus::reports {
namespace {

constexpr FolderKind per_service_kind{"nimbus-codes usage reports", "format_version",
                                      per_service_format_version};

bool is_earlier_per_service(int folder, const std::string& path) {
    return is_earlier_folder(folder, path, per_service_kind);
}

void require_csv_or_json(output::Format format) {
    if (format != output::Format::Csv && format != output::Format::Json) {
        throw Error(ErrorKind::Usage, "--per-service writes csv or json files", "add --format csv");
    }
}

/// Room for the temporary name that AtomicFile gives a file beside it
/// (".NAME.XXXXXX") within the 255 bytes a file name may have.
constexpr std::size_t longest_file_name = 240;

} // namespace

std::string report_file_name(std::string_view service, output::Format format) {
    std::string name;
    name.reserve(service.size() + 5);
    for (const char c : service) {
        const auto byte = static_cast<unsigned char>(c);
        const bool unsafe = byte < 0x20 || byte == 0x7f ||
                            std::string_view("/\\:*?\"<>|").find(c) != std::string_view::npos;
        name += unsafe ? '_' : c;
    }
    if (!name.empty() && name.front() == '.') {
        name.front() = '_';
    }
    if (!name.empty() && (name.back() == '.' || name.back() == ' ')) {
        name.back() = '_';
    }
    // Windows takes CON, NUL, COM1 ... as devices, whatever follows a dot.
    std::string stem = name.substr(0, name.find('.'));
    std::transform(stem.begin(), stem.end(), stem.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const bool numbered = stem.size() == 4 &&
                          (stem.starts_with("COM") || stem.starts_with("LPT")) && stem[3] >= '1' &&
                          stem[3] <= '9';
    if (numbered || stem == "CON" || stem == "PRN" || stem == "AUX" || stem == "NUL") {
        name = "_" + name;
    }
    return name + (format == output::Format::Json ? ".json" : ".csv");
}

void check_per_service_folder(const std::string& dir, output::Format format) {
    require_csv_or_json(format);
    AtomicDirectory::check(dir, is_earlier_per_service);
}

PerServiceResult usage_per_service(store::ReadTransaction& tx, const Actor& actor,
                                   const identity::Identity& identity, const UsageRequest& request,
                                   Timestamp now, const std::string& dir, output::Format format) {
    require_csv_or_json(format);
    const std::vector<Service> services =
        services_in_scope(tx, actor, request.services, request.ou);

    // Every name first, so that a clash is refused before anything is written.
    std::vector<std::string> file_names;
    std::map<std::string, const Service*> by_key{{names::name_key(manifest_name), nullptr}};
    for (const Service& service : services) {
        const std::string& name = file_names.emplace_back(report_file_name(service.name, format));
        if (name.size() > longest_file_name) {
            throw Error(ErrorKind::Usage,
                        fmt::format("the report of service \"{}\" would need a file name of {} "
                                    "bytes, longer than a file name may be",
                                    service.name, name.size()),
                        "report that service on its own with --service and --output");
        }
        const auto [at, fresh] = by_key.emplace(names::name_key(name), &service);
        if (!fresh) {
            throw Error(ErrorKind::Usage,
                        at->second == nullptr
                            ? fmt::format("the report of service \"{}\" would be written to {}, "
                                          "the folder's manifest",
                                          service.name, name)
                            : fmt::format("the reports of services \"{}\" and \"{}\" would both "
                                          "be written to {}",
                                          at->second->name, service.name, name),
                        "report one of them on its own with --service and --output, or choose "
                        "the services with --service");
        }
    }

    // The zone and the period before the folder: a refusal leaves nothing behind.
    PerServiceResult result;
    result.period = resolve_period(request.period, Zone(request.zone), now);
    if (request.plausible_period) {
        require_plausible(request.period, result.period);
    }
    const store::LedgerHead ledger = tx.ledger_head();
    AtomicDirectory folder(dir, is_earlier_per_service);
    nlohmann::ordered_json files = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < services.size(); ++i) {
        const Service& service = services[i];
        const std::string& name = file_names[i];
        UsageRequest one = request;
        one.services = {service.name};
        one.ou.reset();
        const UsageReport report = usage(tx, actor, identity, one, now);
        {
            AtomicFile file(folder.path() / name);
            output::render(file.stream(), report.rows, format, output::Shape::List,
                           output::Style{});
            file.commit();
        }
        result.files.push_back(ServiceReportFile{service.name, name, report.rows.rows.size()});
        files.push_back({{"name", name},
                         {"service", service.name},
                         {"rows", report.rows.rows.size()},
                         {"sha256", sha256_of_file(folder.path() / name)}});
    }
    const nlohmann::ordered_json manifest = {
        {"format", per_service_kind.format},
        {"format_version", per_service_format_version},
        {"generated_at", timefmt::to_utc_string(now)},
        {"first_day", result.period.first.text()},
        {"last_day", result.period.last.text()},
        {"time_zone", request.zone},
        {"files", files},
        {"ledger", {{"records", ledger.records}, {"head", ledger.hash}}}};
    {
        AtomicFile file(folder.path() / manifest_name);
        file.stream() << manifest.dump(2) << '\n';
        file.commit();
    }
    folder.commit();
    return result;
}

} // namespace nimbus::reports
