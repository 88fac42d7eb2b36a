// Private (libglobal/src): the UTF-8 guard that dict_open() puts in front of
// a table when smtputf8_enable is in effect (Postfix's dict_utf8_activate()):
// a non-UTF-8 key is never found, a non-UTF-8 result is a lookup error, each
// with stock's warning.
#pragma once

#include "psm/global/dict.hpp"

#include <memory>

namespace psm::dict_types {

std::unique_ptr<Dict> utf8_guard(std::unique_ptr<Dict> inner);

} // namespace psm::dict_types
