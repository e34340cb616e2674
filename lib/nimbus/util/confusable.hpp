#pragma once

#include <string>
#include <string_view>

/// Which texts look alike (Unicode Technical Standard #39). It knows nothing of
/// nimbus-codes.
namespace nimbus::text {

/// The confusable skeleton of valid UTF-8 `s` (UTS #39, section 4): two texts
/// with one skeleton look alike, such as "Sale", "Sаle" with a Cyrillic а and
/// "Ｓale" with a fullwidth Ｓ. Computed by ICU's spoof checker, which is loaded
/// at the first call rather than linked: linked, ICU would add about 1.5 ms to
/// every start of the program for the few commands that name things. Throws
/// Config when ICU cannot be loaded.
std::string skeleton(std::string_view s);

} // namespace nimbus::text
