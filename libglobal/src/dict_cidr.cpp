// cidr: lookup tables (cidr_table(5)). Placeholder until the full parser lands.
#include "dict_types.hpp"

#include "psm/util/error.hpp"

namespace psm::dict_types {

std::unique_ptr<Dict> make_cidr(std::string_view, std::string_view, const DictOpenOptions&) {
    throw ConfigError("cidr: not implemented");
}

} // namespace psm::dict_types
