// RateLimit: at most one log line per interval, with the count of the
// events held back in between.
#include "psm/util/rate_limit.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("rate limit: the first event passes, then one per interval with the suppressed count") {
    psm::RateLimit limit(10s);
    const auto t0 = psm::RateLimit::Clock::time_point{} + 1000s;
    CHECK(limit.allow(t0));
    CHECK(limit.suppressed() == 0);
    CHECK_FALSE(limit.allow(t0 + 1s));
    CHECK_FALSE(limit.allow(t0 + 9999ms));
    CHECK(limit.allow(t0 + 10s));
    CHECK(limit.suppressed() == 2);
    CHECK_FALSE(limit.allow(t0 + 11s));
    CHECK(limit.allow(t0 + 25s));
    CHECK(limit.suppressed() == 1);
}

TEST_CASE("rate limit: the first event passes even at the clock's epoch") {
    psm::RateLimit limit(1min);
    CHECK(limit.allow(psm::RateLimit::Clock::time_point{}));
    CHECK_FALSE(limit.allow(psm::RateLimit::Clock::time_point{} + 59s));
}
