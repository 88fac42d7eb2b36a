// Tests for the restartable per-session deadline timer.
#include "psm/util/deadline.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using psm::Deadline;

namespace {

// Runs the loop for about `span` (bounded: the loop never blocks longer).
void run_for(boost::asio::io_context& io, std::chrono::milliseconds span) {
    io.restart();
    io.run_for(span);
}

} // namespace

TEST_CASE("a deadline fires once, after its timeout", "[deadline]") {
    boost::asio::io_context io;
    Deadline deadline(io);
    int fired = 0;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration took{};
    deadline.arm(30ms, [&] {
        ++fired;
        took = std::chrono::steady_clock::now() - start;
    });
    CHECK(deadline.armed());
    CHECK(deadline.expiry() >= start + 30ms);
    run_for(io, 300ms);
    CHECK(fired == 1);
    CHECK(took >= 30ms);
    CHECK_FALSE(deadline.armed());
}

TEST_CASE("expiry order follows the timeouts, not the arm order", "[deadline]") {
    boost::asio::io_context io;
    Deadline a(io), b(io), c(io);
    std::string order;
    a.arm(60ms, [&] { order += 'a'; });
    b.arm(20ms, [&] { order += 'b'; });
    c.arm(40ms, [&] { order += 'c'; });
    run_for(io, 300ms);
    CHECK(order == "bca");
}

TEST_CASE("re-arming replaces the earlier deadline and its callback", "[deadline]") {
    boost::asio::io_context io;
    Deadline deadline(io);
    std::string log;
    deadline.arm(20ms, [&] { log += "first"; });
    deadline.arm(60ms, [&] { log += "second"; });
    run_for(io, 300ms);
    CHECK(log == "second"); // "first" would have come first
}

// Two deadlines expire together, so the loop queues both completions before
// running either; whichever runs first then acts on the other, whose
// completion is already queued with success.
TEST_CASE("acting on a deadline whose completion is already queued", "[deadline]") {
    boost::asio::io_context io;
    SECTION("restart") {
        Deadline a(io), b(io);
        int old_fired = 0, new_fired = 0;
        a.arm(1ms, [&] {
            ++old_fired;
            b.arm(20ms, [&] { ++new_fired; });
        });
        b.arm(1ms, [&] {
            ++old_fired;
            a.arm(20ms, [&] { ++new_fired; });
        });
        std::this_thread::sleep_for(10ms);
        run_for(io, 200ms);
        CHECK(old_fired == 1);
        CHECK(new_fired == 1);
    }
    SECTION("cancel") {
        Deadline a(io), b(io);
        int fired = 0;
        a.arm(1ms, [&] {
            ++fired;
            b.cancel();
        });
        b.arm(1ms, [&] {
            ++fired;
            a.cancel();
        });
        std::this_thread::sleep_for(10ms);
        run_for(io, 100ms);
        CHECK(fired == 1);
    }
    SECTION("destroy") {
        auto a = std::make_unique<Deadline>(io);
        auto b = std::make_unique<Deadline>(io);
        int fired = 0;
        a->arm(1ms, [&] {
            ++fired;
            b.reset();
        });
        b->arm(1ms, [&] {
            ++fired;
            a.reset();
        });
        std::this_thread::sleep_for(10ms);
        run_for(io, 100ms);
        CHECK(fired == 1);
    }
}

TEST_CASE("cancel prevents the callback", "[deadline]") {
    boost::asio::io_context io;
    Deadline deadline(io);
    int fired = 0;
    deadline.arm(10ms, [&] { ++fired; });
    deadline.cancel();
    CHECK_FALSE(deadline.armed());
    run_for(io, 60ms);
    CHECK(fired == 0);
    // A cancelled deadline can be armed again.
    deadline.arm(1ms, [&] { ++fired; });
    run_for(io, 100ms);
    CHECK(fired == 1);
}

TEST_CASE("cancel after expiry but before the callback ran", "[deadline]") {
    boost::asio::io_context io;
    Deadline deadline(io);
    int fired = 0;
    deadline.arm(1ms, [&] { ++fired; });
    std::this_thread::sleep_for(20ms);
    deadline.cancel();
    run_for(io, 50ms);
    CHECK(fired == 0);
}

TEST_CASE("destroying the deadline silences it", "[deadline]") {
    boost::asio::io_context io;
    int fired = 0;
    {
        Deadline deadline(io);
        deadline.arm(1ms, [&] { ++fired; });
        std::this_thread::sleep_for(20ms);
    }
    run_for(io, 50ms);
    CHECK(fired == 0);
}

TEST_CASE("the callback may re-arm or destroy its deadline", "[deadline]") {
    boost::asio::io_context io;
    SECTION("re-arm: a periodic timer") {
        Deadline deadline(io);
        int ticks = 0;
        std::function<void()> tick = [&] {
            if (++ticks < 3) deadline.arm(5ms, tick);
        };
        deadline.arm(5ms, tick);
        run_for(io, 300ms);
        CHECK(ticks == 3);
        CHECK_FALSE(deadline.armed());
    }
    SECTION("destroy") {
        auto deadline = std::make_unique<Deadline>(io);
        int fired = 0;
        deadline->arm(5ms, [&] {
            ++fired;
            deadline.reset();
        });
        run_for(io, 100ms);
        CHECK(fired == 1);
        CHECK_FALSE(deadline);
    }
}

TEST_CASE("a deadline is small", "[deadline]") {
    CHECK(sizeof(Deadline) <= 16);
}
