// A list of lookup tables searched in order, as Postfix's maps_find():
// used for postscreen_discard_ehlo_keyword_address_maps and
// postscreen_reject_footer_maps. The first table that has the key answers;
// a table error stops the search. Stock's warnings are logged:
//   TITLE lookup of KEY returns an empty string result
//   TITLE should return NO RESULT in case of NOT FOUND   (then: error)
//   TYPE:NAME lookup error for "KEY"
#pragma once

#include "psm/global/dict.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace psm::postscreen {

class LookupMaps {
public:
    // `names`: "type:name" items separated by comma/white space (braces
    // group, as for inline:{...}). Tables are opened read-only with
    // `options`; a daemon passes allow_surrogate. Throws ConfigError for a
    // malformed item.
    LookupMaps(std::string title, std::string_view names, const DictOpenOptions& options);

    // An empty key is never looked up (not found), as in stock.
    DictLookup find(std::string_view key) const;

    const std::string& title() const { return title_; }
    bool empty() const { return tables_.empty(); }

private:
    std::string title_;
    std::vector<std::unique_ptr<Dict>> tables_;
};

} // namespace psm::postscreen
