// Private: base64 with the standard alphabet and '=' padding, as Postfix's
// base64_code.c uses it for data attributes and the attr64 encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace psm::base64 {

void encode(std::string& out, std::string_view raw);
// nullopt for a length that is not a multiple of 4, a byte outside the
// alphabet, or misplaced padding.
std::optional<std::string> decode(std::string_view text);

} // namespace psm::base64
