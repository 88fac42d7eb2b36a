// Private: factories of the built-in lookup-table types. Each is defined in
// the table type's own source file (dict_cidr.cpp, dict_texthash.cpp, ...).
// `type_and_name` is the full "type:name" (for messages); `name` the part
// after the first ':' (a file path, or an inline "{...}" text).
#pragma once

#include "psm/global/dict.hpp"

#include <memory>
#include <string_view>

namespace psm::dict_types {

std::unique_ptr<Dict> make_cidr(std::string_view type_and_name, std::string_view name, const DictOpenOptions& options);
std::unique_ptr<Dict> make_texthash(std::string_view type_and_name, std::string_view name,
                                    const DictOpenOptions& options);
std::unique_ptr<Dict> make_inline(std::string_view type_and_name, std::string_view name,
                                  const DictOpenOptions& options);
std::unique_ptr<Dict> make_static(std::string_view type_and_name, std::string_view name,
                                  const DictOpenOptions& options);
std::unique_ptr<Dict> make_regexp(std::string_view type_and_name, std::string_view name,
                                  const DictOpenOptions& options);
std::unique_ptr<Dict> make_btree(std::string_view type_and_name, std::string_view name, const DictOpenOptions& options);
std::unique_ptr<Dict> make_hash(std::string_view type_and_name, std::string_view name, const DictOpenOptions& options);

} // namespace psm::dict_types
