#include <nimbus/catalogue/names.hpp>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/util/confusable.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::names {
namespace {

constexpr std::string_view id_prefix = "id:";

/// True when `text` begins with "id:" in any case.
bool is_id_reference_form(std::string_view text) {
    const auto lower = [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    };
    return text.size() >= id_prefix.size() && lower(text[0]) == 'i' && lower(text[1]) == 'd' &&
           text[2] == ':';
}

[[noreturn]] void throw_invalid_utf8(std::string_view raw, std::string_view what) {
    throw Error(ErrorKind::InvalidData,
                fmt::format("{} {}", what, text::describe_invalid_utf8(raw)),
                "save the input as UTF-8");
}

std::string clean_text(std::string_view raw, std::string_view what) {
    const auto nfc = text::to_nfc(raw);
    if (!nfc) {
        throw_invalid_utf8(raw, what);
    }
    std::string clean(text::trim(*nfc));
    if (text::has_control_characters(clean)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("{} \"{}\" contains a control character", what,
                                text::collapse_whitespace(clean)),
                    "remove tabs, line breaks and other control characters");
    }
    return clean;
}

} // namespace

std::string clean_name(std::string_view raw, std::string_view what) {
    std::string clean = clean_text(raw, what);
    if (clean.empty()) {
        throw Error(ErrorKind::InvalidData, fmt::format("{} is empty", what),
                    fmt::format("a {} needs 1 to {} characters", what, max_name_length));
    }
    const std::size_t length = text::code_points(clean);
    if (length > max_name_length) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("{} \"{}...\" is {} characters long; the limit is {}", what,
                                text::truncate(clean, 20), length, max_name_length));
    }
    return clean;
}

std::string clean_new_name(std::string_view raw, std::string_view what) {
    if (!text::is_valid_utf8(raw)) {
        throw_invalid_utf8(raw, what);
    }
    // Before clean_name(), whose control-character rule covers a few of them.
    if (const auto invisible = text::first_default_ignorable(raw)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("{} contains the invisible character {}", what,
                                text::code_point_name(*invisible)),
                    "names may not hold invisible characters (soft hyphens, zero-width joiners, "
                    "variation selectors and the like): type the name without them");
    }
    std::string clean = clean_name(raw, what);
    if (clean == "." || clean == "..") {
        throw Error(ErrorKind::InvalidData, fmt::format("{} \"{}\" is not allowed", what, clean),
                    "OU paths are written out from the tenant root, without . or ..");
    }
    if (is_id_reference_form(clean)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("{} \"{}\" begins with \"{}\"", what, clean,
                                clean.substr(0, id_prefix.size())),
                    "names beginning with id: (in any case) are reserved for naming codes by id, "
                    "as in id:12");
    }
    return clean;
}

std::string clean_reference(std::string_view raw, std::string_view what) {
    const auto nfc = text::to_nfc(raw);
    if (!nfc) {
        throw_invalid_utf8(raw, what);
    }
    return std::string(text::trim(*nfc));
}

bool look_alike(std::string_view a, std::string_view b) {
    const std::string a_key = name_key(a);
    const std::string b_key = name_key(b);
    if (a_key == b_key) {
        return false;
    }
    return text::skeleton(a) == text::skeleton(b) || text::skeleton(a_key) == text::skeleton(b_key);
}

std::string clean_description(std::string_view raw) {
    std::string clean = clean_text(raw, "description");
    const std::size_t length = text::code_points(clean);
    if (length > max_description_length) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("description is {} characters long; the limit is {}", length,
                                max_description_length));
    }
    return clean;
}

std::string name_key(std::string_view clean) {
    return text::fold_case(clean);
}

std::string clean_ou_path(std::string_view raw) {
    if (!text::is_valid_utf8(raw)) {
        throw_invalid_utf8(raw, "OU path");
    }
    const std::string_view trimmed = text::trim(raw);
    if (trimmed.empty()) {
        throw Error(ErrorKind::InvalidData, "OU path is empty",
                    "write the full path from the tenant root, e.g. Contoso/Sales");
    }
    std::string path;
    for (const std::string_view part : ou_components(trimmed)) {
        if (text::trim(part).empty()) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("OU path \"{}\" has an empty component", trimmed),
                        "separate OU names with single slashes, e.g. Contoso/Sales");
        }
        if (!path.empty()) {
            path.push_back('/');
        }
        path += clean_name(part, "OU name");
    }
    return path;
}

bool has_dot_component(std::string_view path) {
    for (const std::string_view part : ou_components(path)) {
        if (part == "." || part == "..") {
            return true;
        }
    }
    return false;
}

std::vector<std::string_view> ou_components(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            parts.push_back(path.substr(start));
            return parts;
        }
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
}

bool ou_within(std::string_view path_key, std::string_view ancestor_key) {
    if (!path_key.starts_with(ancestor_key)) {
        return false;
    }
    return path_key.size() == ancestor_key.size() || path_key[ancestor_key.size()] == '/';
}

std::string_view ou_parent(std::string_view path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

std::string_view ou_leaf(std::string_view path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

} // namespace nimbus::names
