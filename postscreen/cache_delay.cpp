// Average-delay warning for cache access (see cache_delay.hpp).
#include "cache_delay.hpp"

#include <cstdio>

namespace psm::postscreen {

std::optional<std::string> DelayMonitor::record(Operation op, double ms, std::time_t now) {
    double& average = op == Operation::lookup ? lookup_ms_ : update_ms_;
    average = 0.1 * ms + 0.9 * average;
    if (average <= kThresholdMs || last_warning_ >= now - kLockoutSeconds) return std::nullopt;
    last_warning_ = now;
    const bool lookup = op == Operation::lookup;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.0f", average);
    return std::string(lookup ? "psc_cache_lookup: " : "psc_cache_update: ") + table_ +
           (lookup ? " lookup" : " update") + " average delay is " + buf + " ms";
}

} // namespace psm::postscreen
