// data_directory redirection of the cache map (see cache_redirect.hpp).
#include "cache_redirect.hpp"

#include <sys/stat.h>

#include <array>

namespace psm::postscreen {

namespace {

// The types stock redirects (file-based tables it might write).
constexpr std::array<std::string_view, 7> kRedirectedTypes = {"hash", "btree", "dbm", "lmdb", "cdb", "sdbm", "dbz"};

bool redirected_type(std::string_view type) {
    for (auto t : kRedirectedTypes)
        if (t == type) return true;
    return false;
}

} // namespace

std::string sane_dirname(std::string_view path) {
    // Trailing slashes are not part of the last component.
    auto end = path.find_last_not_of('/');
    if (end == std::string_view::npos) return path.empty() ? "." : "/";
    auto slash = path.find_last_of('/', end);
    if (slash == std::string_view::npos) return ".";
    auto dir_end = path.find_last_not_of('/', slash);
    if (dir_end == std::string_view::npos) return "/";
    return std::string(path.substr(0, dir_end + 1));
}

std::string sane_basename(std::string_view path) {
    auto end = path.find_last_not_of('/');
    if (end == std::string_view::npos) return path.empty() ? "." : "/";
    auto slash = path.find_last_of('/', end);
    auto start = slash == std::string_view::npos ? 0 : slash + 1;
    return std::string(path.substr(start, end + 1 - start));
}

std::string redirect_cache_map(std::string_view map, const CacheMapLocation& where,
                               std::vector<std::string>& warnings) {
    std::string type, path;
    if (auto colon = map.find(':'); colon != std::string_view::npos) {
        type = std::string(map.substr(0, colon));
        path = std::string(map.substr(colon + 1));
    } else {
        type = where.default_type;
        path = std::string(map);
    }
    if (redirected_type(type)) {
        std::string dir = sane_dirname(path);
        struct stat st;
        if (::stat(dir.c_str(), &st) == 0 && st.st_uid != where.owner_uid) {
            warnings.push_back("request to update table " + std::string(map) + " in non-" + where.mail_owner +
                               " directory " + dir);
            warnings.push_back("redirecting the request to " + where.mail_owner + "-owned data_directory " +
                               where.data_directory);
            path = where.data_directory + "/" + sane_basename(path);
        }
    }
    return type + ":" + path;
}

} // namespace psm::postscreen
