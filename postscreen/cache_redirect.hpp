// The data_directory redirection stock applies to postscreen_cache_map
// (Postfix's data_redirect_map()): a btree:/hash:/... file whose directory
// exists and is not owned by mail_owner is moved into data_directory, with
// two warnings. A map without a type gets default_database_type.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace psm::postscreen {

struct CacheMapLocation {
    std::string mail_owner;     // name, for the warnings
    uid_t owner_uid = 0;        // its uid
    std::string data_directory; // where redirected files go
    std::string default_type;   // default_database_type
};

// Returns "type:name" (redirected or not) and appends stock's warning texts
// (without "warning: ") to `warnings`.
std::string redirect_cache_map(std::string_view map, const CacheMapLocation& where, std::vector<std::string>& warnings);

// Postfix's sane_dirname()/sane_basename().
std::string sane_dirname(std::string_view path);
std::string sane_basename(std::string_view path);

} // namespace psm::postscreen
