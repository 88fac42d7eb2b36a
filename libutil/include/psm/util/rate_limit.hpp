// A log-rate limiter: allow() is true at most once per interval and counts
// the events it suppressed in between (to be reported with the next line).
#pragma once

#include <chrono>
#include <cstdint>

namespace psm {

class RateLimit {
public:
    using Clock = std::chrono::steady_clock;

    explicit RateLimit(Clock::duration interval) : interval_(interval) {}

    // True when a line may be logged now; then suppressed() is the number of
    // events held back since the previous line.
    bool allow(Clock::time_point now = Clock::now()) {
        if (logged_ && now - last_ < interval_) {
            ++pending_;
            return false;
        }
        logged_ = true;
        last_ = now;
        suppressed_ = pending_;
        pending_ = 0;
        return true;
    }
    std::uint64_t suppressed() const { return suppressed_; }

private:
    Clock::duration interval_;
    Clock::time_point last_{};
    bool logged_ = false;
    std::uint64_t pending_ = 0;
    std::uint64_t suppressed_ = 0;
};

} // namespace psm
