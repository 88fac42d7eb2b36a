// Tests for dnsblog's TimerHeap: every entry runs once, in order, never
// before its time, and entries due close together share one wake-up.
#include "timer_heap.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

using psm::dnsblog::TimerHeap;
using namespace std::chrono_literals;

TEST_CASE("timer heap: entries run in order, none early, close ones in few wake-ups") {
    boost::asio::io_context io;
    struct Fired {
        std::uint64_t key;
        std::uint32_t tag;
        TimerHeap::Clock::time_point at;
    };
    std::vector<Fired> fired;
    TimerHeap heap(io, [&](std::uint64_t key, std::uint32_t tag) { fired.push_back({key, tag, TimerHeap::Clock::now()}); });

    // 500 deadlines spread over 10 ms, scheduled out of order, as answered
    // and unanswered queries leave them.
    constexpr int n = 500;
    const auto t0 = TimerHeap::Clock::now() + 5ms;
    std::vector<TimerHeap::Clock::time_point> when(n);
    for (int i = 0; i < n; ++i) {
        const int slot = (i * 7) % n; // a permutation of 0..n-1 (gcd(7, 500) = 1)
        when[slot] = t0 + slot * 20us;
        heap.schedule(when[slot], static_cast<std::uint64_t>(slot), static_cast<std::uint32_t>(slot % 3));
    }
    CHECK(heap.size() == n);

    int wakeups = 0;
    while (fired.size() < n && wakeups < 10 * n && io.run_one_for(2s) > 0)
        ++wakeups;

    REQUIRE(fired.size() == n);
    CHECK(heap.size() == 0);
    for (int i = 0; i < n; ++i) {
        CHECK(fired[i].key == static_cast<std::uint64_t>(i));
        CHECK(fired[i].tag == static_cast<std::uint32_t>(i % 3));
        CHECK(fired[i].at >= when[i]);
    }
    // 10 ms of deadlines span at most four 4 ms ticks; one wake-up each.
    CHECK(wakeups <= 4);
    // Late by at most a tick (and what a loaded test machine adds).
    CHECK(fired.back().at - when.back() < TimerHeap::kTick + 500ms);
}

TEST_CASE("timer heap: an earlier entry re-arms the timer, and destroying the heap runs nothing") {
    boost::asio::io_context io;
    std::vector<std::uint64_t> fired;
    {
        TimerHeap heap(io, [&](std::uint64_t key, std::uint32_t) { fired.push_back(key); });
        heap.schedule(TimerHeap::Clock::now() + 10s, 1);
        heap.schedule(TimerHeap::Clock::now() + 1ms, 2); // earlier than the armed tick
        const auto start = TimerHeap::Clock::now();
        while (fired.empty() && TimerHeap::Clock::now() - start < 5s)
            io.run_one_for(100ms);
        REQUIRE(fired.size() == 1);
        CHECK(fired[0] == 2);
        CHECK(TimerHeap::Clock::now() - start < 5s);
    }
    io.restart();
    io.run_for(50ms); // the pending wait of entry 1 completes as cancelled
    CHECK(fired.size() == 1);
}
