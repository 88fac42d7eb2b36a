// postscreen cache record encoding and decisions (see cache_record.hpp).
#include "psm/global/cache_record.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace psm {

CacheRecord CacheRecord::decode(std::string_view value) {
    // Stock runs strtoul() over a C string, field after field, and never
    // resets errno in between: once a field overflows, every later field
    // reads as disabled. Reproduce that with the same library call.
    std::string text(value.substr(0, value.find('\0')));
    CacheRecord record;
    const char* start = text.c_str();
    bool out_of_range = false;
    for (std::time_t& stamp : record.stamps) {
        char* end = nullptr;
        errno = 0;
        unsigned long parsed = std::strtoul(start, &end, 10);
        out_of_range = out_of_range || errno == ERANGE;
        bool malformed = *start == '\0' || (*end != '\0' && *end != ';');
        stamp = malformed || out_of_range ? kStampDisabled : static_cast<std::time_t>(parsed);
        start = *end == ';' ? end + 1 : end;
    }
    return record;
}

std::string CacheRecord::encode() const {
    char buf[5 * 21 + 5];
    std::snprintf(buf, sizeof(buf), "%lu;%lu;%lu;%lu;%lu", static_cast<unsigned long>(stamps[0]),
                  static_cast<unsigned long>(stamps[1]), static_cast<unsigned long>(stamps[2]),
                  static_cast<unsigned long>(stamps[3]), static_cast<unsigned long>(stamps[4]));
    return buf;
}

std::string CacheRecord::encode_for_store(const PscEnabledTests& enabled) {
    for (std::size_t i = 0; i < kPscTestCount; ++i)
        if (!enabled[i] && stamps[i] == kStampNew) stamps[i] = kStampDisabled;
    return encode();
}

bool CacheRecord::todo(PscTest test, std::time_t now, const PscEnabledTests& enabled) const {
    auto i = static_cast<std::size_t>(test);
    return enabled[i] && now > stamps[i];
}

bool CacheRecord::any_todo(std::time_t now, const PscEnabledTests& enabled) const {
    for (std::size_t i = 0; i < kPscTestCount; ++i)
        if (todo(static_cast<PscTest>(i), now, enabled)) return true;
    return false;
}

bool CacheRecord::has_new_stamp() const {
    for (std::time_t stamp : stamps)
        if (stamp == kStampNew) return true;
    return false;
}

bool CacheRecord::expired_for_cleanup(std::time_t now, std::time_t retention, const PscEnabledTests& enabled) const {
    return any_todo(now - retention, enabled);
}

} // namespace psm
