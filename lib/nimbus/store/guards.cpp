#include <nimbus/store/guards.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/store/migration.hpp>

namespace nimbus::store {
namespace {

/// Definitions span lines: guards.txt writes \n, \t and \\ for them.
std::string escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default: out.push_back(c);
        }
    }
    return out;
}

std::string unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            const char next = text[++i];
            out.push_back(next == 'n' ? '\n' : next == 't' ? '\t' : next);
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::vector<Guard> parse(std::string_view text) {
    std::vector<Guard> guards;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        const std::string_view line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        if (line.empty() || line.starts_with('#')) {
            continue;
        }
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (int field = 0; field < 3; ++field) {
            const std::size_t tab = line.find('\t', start);
            if (tab == std::string_view::npos) {
                throw Error(ErrorKind::Internal, "guards.txt: a line has fewer than four fields");
            }
            fields.emplace_back(line.substr(start, tab - start));
            start = tab + 1;
        }
        guards.push_back(Guard{fields[0], fields[1], fields[2], unescape(line.substr(start))});
    }
    std::sort(guards.begin(), guards.end());
    return guards;
}

/// The list's lines without its comments, one guard_line each, sorted.
std::string_view listed_lines(std::string_view list) {
    while (list.starts_with('#')) {
        list.remove_prefix(std::min(list.find('\n') + 1, list.size()));
    }
    return list;
}

std::string describe(const Guard& guard) {
    return guard.table.empty() || guard.kind == "table"
               ? fmt::format("{} {}", guard.kind, guard.name)
               : fmt::format("{} {} on {}", guard.kind, guard.name, guard.table);
}

} // namespace

std::vector<Guard> expected_guards(Engine engine) {
    return parse(engine == Engine::Sqlite ? sqlite_guard_list() : postgresql_guard_list());
}

std::string guard_line(const Guard& guard) {
    return fmt::format("{}\t{}\t{}\t{}", guard.kind, guard.table, guard.name,
                       escape(guard.definition));
}

std::string GuardDifference::describe() const {
    switch (kind) {
    case Kind::Missing: return store::describe(guard) + " is missing";
    case Kind::Changed: return store::describe(guard) + " was changed";
    case Kind::Added: return store::describe(guard) + " is not part of the schema";
    }
    return store::describe(guard);
}

std::vector<GuardDifference> guard_differences(const std::vector<Guard>& expected,
                                               std::vector<Guard> actual) {
    using Key = std::tuple<std::string, std::string, std::string>;
    std::set<std::string> tables;
    std::set<std::string> functions;
    std::map<Key, const Guard*> wanted;
    for (const Guard& guard : expected) {
        if (guard.kind == "function") {
            functions.insert(guard.name);
        } else {
            tables.insert(guard.table);
        }
        wanted[{guard.kind, guard.table, guard.name}] = &guard;
    }
    std::erase_if(actual, [&](const Guard& guard) {
        return guard.kind == "function" ? !functions.contains(guard.name)
                                        : !tables.contains(guard.table);
    });
    std::vector<GuardDifference> differences;
    std::set<Key> seen;
    for (const Guard& guard : actual) {
        const Key key{guard.kind, guard.table, guard.name};
        seen.insert(key);
        const auto found = wanted.find(key);
        if (found == wanted.end()) {
            differences.push_back({GuardDifference::Kind::Added, guard});
        } else if (found->second->definition != guard.definition) {
            differences.push_back({GuardDifference::Kind::Changed, *found->second});
        }
    }
    for (const Guard& guard : expected) {
        if (!seen.contains({guard.kind, guard.table, guard.name})) {
            differences.push_back({GuardDifference::Kind::Missing, guard});
        }
    }
    return differences;
}

bool guards_as_listed(const std::vector<Guard>& actual, Engine engine) {
    // In the list's order: its lines sort bytewise, which for these names (a
    // tab sorts before any of their characters) is by kind, table and name.
    std::vector<const Guard*> sorted;
    sorted.reserve(actual.size());
    for (const Guard& guard : actual) {
        sorted.push_back(&guard);
    }
    const auto by_key = [](const Guard* a, const Guard* b) {
        return std::tie(a->kind, a->table, a->name) < std::tie(b->kind, b->table, b->name);
    };
    if (!std::is_sorted(sorted.begin(), sorted.end(), by_key)) {
        std::sort(sorted.begin(), sorted.end(), by_key);
    }
    // Compared as the list spells them, without building a line: a write pays this.
    std::string_view rest =
        listed_lines(engine == Engine::Sqlite ? sqlite_guard_list() : postgresql_guard_list());
    const auto take = [&](std::string_view text) {
        if (!rest.starts_with(text)) {
            return false;
        }
        rest.remove_prefix(text.size());
        return true;
    };
    for (const Guard* guard : sorted) {
        if (!take(guard->kind) || !take("\t") || !take(guard->table) || !take("\t") ||
            !take(guard->name) || !take("\t")) {
            return false;
        }
        // Plain runs at once; the three escaped characters one by one.
        std::string_view definition = guard->definition;
        while (!definition.empty()) {
            const std::size_t plain =
                std::min(definition.find_first_of("\\\n\t"), definition.size());
            if (!take(definition.substr(0, plain))) {
                return false;
            }
            definition.remove_prefix(plain);
            if (definition.empty()) {
                break;
            }
            const char c = definition.front();
            if (!take(c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "\\t")) {
                return false;
            }
            definition.remove_prefix(1);
        }
        if (!take("\n")) {
            return false;
        }
    }
    return rest.empty();
}

void require_guards(const std::vector<Guard>& actual, Engine engine, const std::string& location) {
    if (guards_as_listed(actual, engine)) {
        return;
    }
    std::vector<GuardDifference> differences = guard_differences(expected_guards(engine), actual);
    if (differences.empty()) {
        return;
    }
    // A table first: its constraints, indexes and triggers went with it.
    std::stable_partition(
        differences.begin(), differences.end(),
        [](const GuardDifference& difference) { return difference.guard.kind == "table"; });
    std::string list;
    for (std::size_t i = 0; i < differences.size() && i < 5; ++i) {
        list += (i == 0 ? "" : "; ") + differences[i].describe();
    }
    if (differences.size() > 5) {
        list += fmt::format("; and {} more", differences.size() - 5);
    }
    throw Error(ErrorKind::Config,
                fmt::format("store {} does not hold the guards of its schema, so nothing is "
                            "written to it: {}",
                            location, list),
                "someone changed its schema: see what with 'nimbus-codes verify', then restore "
                "the store from a backup, or let its owner put the guards back with "
                "'nimbus-codes init --restore-guards'");
}

} // namespace nimbus::store
