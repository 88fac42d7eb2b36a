// Ordered table lists (see lookup_maps.hpp), after Postfix's maps.c.
#include "lookup_maps.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

namespace psm::postscreen {

LookupMaps::LookupMaps(std::string title, std::string_view names, const DictOpenOptions& options)
    : title_(std::move(title)) {
    DictOpenOptions read_only = options;
    read_only.writable = false;
    for (const std::string& name : split_tokens_braced(names))
        tables_.push_back(dict_open(name, read_only));
}

DictLookup LookupMaps::find(std::string_view key) const {
    DictLookup none;
    if (key.empty()) return none;
    const std::string printable_key(key);
    for (const auto& table : tables_) {
        DictLookup result = table->lookup(key);
        if (result.found()) {
            if (!result.value.empty()) return result;
            msg_warn("%s lookup of %s returns an empty string result", title_.c_str(), printable_key.c_str());
            msg_warn("%s should return NO RESULT in case of NOT FOUND", title_.c_str());
            none.status = DictStatus::error;
            return none;
        }
        if (result.failed()) {
            msg_warn("%s lookup error for \"%s\"", table->name().c_str(), printable_key.c_str());
            return result;
        }
    }
    return none;
}

} // namespace psm::postscreen
