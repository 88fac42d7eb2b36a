// Private (libglobal/src): what a table type does when it cannot open, as
// Postfix's dict_surrogate(): either the open fails (ConfigError, postmap's
// "fatal: REASON") or, for a daemon (DictOpenOptions::allow_surrogate), the
// problem is logged now ("error: REASON") and the caller gets an unusable
// table whose every access logs "warning: TYPE:NAME is unavailable. REASON"
// and fails.
#pragma once

#include "psm/global/dict.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace psm::dict_types {

// Throws ConfigError(reason) unless options.allow_surrogate; then returns
// make_surrogate(type_and_name, reason).
std::unique_ptr<Dict> open_failure(std::string_view type_and_name, const DictOpenOptions& options, std::string reason);

// Logs "error: REASON" and returns the unusable table.
std::unique_ptr<Dict> make_surrogate(std::string_view type_and_name, std::string reason);

} // namespace psm::dict_types
