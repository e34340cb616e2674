#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

/// The naming rules shared by codes, OUs and services.
namespace nimbus::names {

inline constexpr std::size_t max_name_length = 64;         ///< code points
inline constexpr std::size_t max_description_length = 500; ///< code points

/// Checks a user-given name and returns its stored form: valid UTF-8, NFC,
/// trimmed, 1 to 64 code points, no control characters. `what` names the kind
/// of name in the error ("code name", "OU name", ...). Throws InvalidData.
std::string clean_name(std::string_view raw, std::string_view what);

/// Checks a name about to be stored (a new code, service or OU, or a rename)
/// and returns its stored form: the rules of clean_name(), and moreover no
/// invisible characters (Unicode Default_Ignorable_Code_Point, which includes
/// the zero-width joiner and the emoji variation selector), not "." or "..",
/// and no "id:" prefix in any case (reserved for naming codes by id).
/// Throws InvalidData.
std::string clean_new_name(std::string_view raw, std::string_view what);

/// Checks text that names something to look up (a code, a session, a user)
/// and returns it NFC and trimmed, possibly empty. Throws InvalidData, naming
/// `what`, when it is not valid UTF-8: it is never cut short.
std::string clean_reference(std::string_view raw, std::string_view what);

/// True when two clean names look alike, as written or ignoring case (equal
/// Unicode TR39 confusable skeletons): "Sale", "Sаle" with a Cyrillic а, "Ｓale"
/// and "sаle". Names with one name_key() ("Sale", "SALE") are one name, not
/// look-alikes: false.
bool look_alike(std::string_view a, std::string_view b);

/// Checks a description: valid UTF-8, NFC, trimmed, at most 500 code points,
/// no control characters. An empty description is allowed. Throws InvalidData.
std::string clean_description(std::string_view raw);

/// The case-insensitive key under which a clean name is unique.
std::string name_key(std::string_view clean);

/// An OU path such as "Contoso/Sales", split and cleaned component by component.
/// Throws InvalidData for empty components or a leading or trailing slash.
std::string clean_ou_path(std::string_view raw);

/// True when a clean OU path has a component "." or "..", which no new OU may
/// be named: OU paths are written out from the tenant root.
bool has_dot_component(std::string_view path);

/// The components of a clean OU path, root first.
std::vector<std::string_view> ou_components(std::string_view path);

/// True when OU `path_key` is `ancestor_key` itself or lies below it.
bool ou_within(std::string_view path_key, std::string_view ancestor_key);

/// The parent path of a clean OU path ("" for the root).
std::string_view ou_parent(std::string_view path);

/// The last component of a clean OU path.
std::string_view ou_leaf(std::string_view path);

} // namespace nimbus::names
