// Process accounting: availability, status updates, process limit, throttle and stress mode.
#include <catch2/catch.hpp>

#include "accounting.hpp"

using namespace psm::master;

namespace {
constexpr std::int32_t kTaken = 0;
constexpr std::int32_t kAvail = 1;
} // namespace

TEST_CASE("a fresh child is available - TAKEN and AVAIL move the count", "[master][accounting]") {
    ProcessAccounting a(2);
    CHECK(a.should_listen(1000, "s", "private/s", nullptr));
    a.add_child(100, 7);
    CHECK(a.total() == 1);
    CHECK(a.available() == 1);
    CHECK_FALSE(a.should_listen(1000, "s", "private/s", nullptr)); // the child accepts
    CHECK(a.status(100, 7, kTaken) == StatusOutcome::now_taken);
    CHECK(a.available() == 0);
    CHECK(a.should_listen(1000, "s", "private/s", nullptr)); // below the limit: master watches again
    CHECK(a.status(100, 7, kTaken) == StatusOutcome::unchanged);
    CHECK(a.status(100, 7, kAvail) == StatusOutcome::now_available);
    CHECK(a.children().at(100).use_count == 1);
    CHECK(a.status(100, 6, kTaken) == StatusOutcome::wrong_generation);
    CHECK(a.status(101, 7, kTaken) == StatusOutcome::unknown_pid);
    CHECK(a.status(100, 7, 5) == StatusOutcome::bad_value);
    ProcessAccounting::Removed r = a.remove_child(100);
    CHECK(r.found);
    CHECK(r.use_count == 1);
    CHECK(a.available() == 0);
    CHECK(a.total() == 0);
    CHECK_FALSE(a.remove_child(100).found);
}

TEST_CASE("process limit: no listening at the limit - 0 means no limit", "[master][accounting]") {
    ProcessAccounting a(1);
    a.add_child(1, 1);
    a.status(1, 1, kTaken);
    std::vector<std::string> warnings;
    CHECK_FALSE(a.should_listen(1000, "s", "private/s", &warnings));
    CHECK(warnings.empty()); // local service: no stress warning
    ProcessAccounting unlimited(0);
    for (int pid = 1; pid <= 500; ++pid) {
        unlimited.add_child(pid, 1);
        unlimited.status(pid, 1, kTaken);
    }
    CHECK(unlimited.should_listen(1000, "s", "private/s", nullptr));
}

TEST_CASE("throttled services are not watched", "[master][accounting]") {
    ProcessAccounting a(0);
    a.set_throttled(true);
    CHECK_FALSE(a.should_listen(1000, "s", "private/s", nullptr));
    a.set_throttled(false);
    CHECK(a.should_listen(1000, "s", "private/s", nullptr));
}

TEST_CASE("stress-capable service at its limit: stock's warning once per 1000 s, stress period",
          "[master][accounting]") {
    ProcessAccounting a(2, true);
    a.add_child(1, 1);
    a.status(1, 1, kTaken);
    CHECK_FALSE(a.stress_active(5000));
    CHECK(a.note_demand_spawn(5000)); // this fork reaches the limit: restart the status channel
    CHECK(a.stress_active(5000));
    CHECK(a.stress_active(5999));
    CHECK_FALSE(a.stress_active(6000));
    CHECK_FALSE(a.note_demand_spawn(5001)); // already in a stress period
    a.add_child(2, 2);
    a.status(2, 2, kTaken);
    std::vector<std::string> w;
    CHECK_FALSE(a.should_listen(5000, "smtpd", "private/smtpd", &w));
    REQUIRE(w.size() == 3);
    CHECK(w[0] == "service \"smtpd\" (private/smtpd) has reached its process limit \"2\": new clients may "
                  "experience noticeable delays");
    CHECK(w[1] == "to avoid this condition, increase the process count in master.cf or reduce the service time per "
                  "client");
    CHECK(w[2] == "see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration "
                  "settings");
    w.clear();
    a.should_listen(5999, "smtpd", "private/smtpd", &w);
    CHECK(w.empty());
    a.should_listen(6001, "smtpd", "private/smtpd", &w);
    CHECK(w.size() == 3);
    // Below the limit no stress period starts.
    ProcessAccounting b(3, true);
    CHECK_FALSE(b.note_demand_spawn(5000));
    CHECK_FALSE(b.stress_active(5000));
}
