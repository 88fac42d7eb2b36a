// Reading postscreen's "raw" text parameters (postscreen_reject_footer,
// postscreen_expansion_filter) the way stock 3.7 does: the value is used as
// written, except that a value that is exactly "$name" of a known parameter
// is replaced once by that parameter's raw value (so the defaults
// "$smtpd_reject_footer" and "$smtpd_expansion_filter" work; "${name}" is
// not recognised). And Postfix's unescape() for C escapes in such values.
#pragma once

#include <string>
#include <string_view>

namespace psm {
class Config;
}

namespace psm::postscreen {

std::string raw_parameter(const Config& config, std::string_view name);

// \a \b \f \n \r \t \v \\ and \ooo (1-3 octal digits); another escaped
// character stands for itself.
std::string unescape(std::string_view text);

} // namespace psm::postscreen
