#include <nimbus/sessions/tags.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::tags {

std::string tag_key(std::string_view tag) {
    return text::fold_case(tag);
}

std::vector<std::string> clean_tags(const std::vector<std::string>& raw) {
    std::vector<std::string> tags;
    std::vector<std::string> keys;
    for (const std::string& given : raw) {
        const auto nfc = text::to_nfc(given);
        if (!nfc) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("a tag {}", text::describe_invalid_utf8(given)));
        }
        // Tags follow the names' rule: "VIP" and "V\u00ADIP" would look like one tag.
        if (const auto invisible = text::first_default_ignorable(*nfc)) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("a tag contains the invisible character {}",
                                    text::code_point_name(*invisible)),
                        "tags may not hold invisible characters (soft hyphens, zero-width "
                        "joiners, variation selectors and the like): type the tag without them");
        }
        if (text::has_control_characters(text::collapse_whitespace(*nfc))) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("tag \"{}\" contains a control character",
                                    text::collapse_whitespace(*nfc)));
        }
        std::string tag = text::collapse_whitespace(*nfc);
        if (tag.empty()) {
            throw Error(ErrorKind::InvalidData, "a tag is empty",
                        fmt::format("tags have 1 to {} characters", max_tag_length));
        }
        if (const std::size_t length = text::code_points(tag); length > max_tag_length) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("tag \"{}...\" is {} characters long; the limit is {}",
                                    text::truncate(tag, 20), length, max_tag_length));
        }
        std::string key = tag_key(tag);
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
            continue; // the first spelling wins
        }
        keys.push_back(std::move(key));
        tags.push_back(std::move(tag));
    }
    if (tags.size() > max_tags) {
        throw Error(ErrorKind::InvalidData, fmt::format("{} tags given; a session takes at most {}",
                                                        tags.size(), max_tags));
    }
    return tags;
}

} // namespace nimbus::tags
