// Stock postscreen's warning about slow cache access: an exponential average
// (0.1 new + 0.9 old) of each operation's duration, per operation kind, and
// "psc_cache_lookup: TABLE lookup average delay is N ms" (or
// "psc_cache_update: TABLE update ...") when it exceeds 100 ms, at most once
// per 60 seconds. Measured where the work happens (the cache worker).
#pragma once

#include <ctime>
#include <optional>
#include <string>

namespace psm::postscreen {

class DelayMonitor {
public:
    enum class Operation { lookup, update };
    static constexpr double kThresholdMs = 100;
    static constexpr std::time_t kLockoutSeconds = 60;

    explicit DelayMonitor(std::string table) : table_(std::move(table)) {}

    // Records one operation; returns the warning text (without "warning: ")
    // when one is due.
    std::optional<std::string> record(Operation op, double ms, std::time_t now);

    double average(Operation op) const { return op == Operation::lookup ? lookup_ms_ : update_ms_; }

private:
    std::string table_;
    double lookup_ms_ = 0;
    double update_ms_ = 0;
    std::time_t last_warning_ = 0;
};

} // namespace psm::postscreen
