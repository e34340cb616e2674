#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nimbus::tags {

inline constexpr std::size_t max_tag_length = 50; ///< code points
inline constexpr std::size_t max_tags = 20;       ///< per session

/// Tags as stored: each trimmed with inner white space collapsed, NFC, 1 to 50
/// characters without control characters or invisible ones (Unicode
/// Default_Ignorable_Code_Point, as in names); tags equal but for case are one tag
/// (the first spelling is kept); at most 20. Throws InvalidData naming the rule.
std::vector<std::string> clean_tags(const std::vector<std::string>& raw);

/// The case-insensitive key of a clean tag.
std::string tag_key(std::string_view tag);

} // namespace nimbus::tags
