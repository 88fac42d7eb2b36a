// The one exception type for bad configuration or bad input files. Its text
// is what an operator sees: "FILE:LINE: reason" for file syntax errors, or
// Postfix's own wording for bad parameter values, e.g.
// "parameter postscreen_greet_wait: bad time value or unit: 6x".
#pragma once

#include <stdexcept>
#include <string>

namespace psm {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace psm
