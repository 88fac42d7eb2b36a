// TimerQueue: one Asio timer for every session deadline.
#include "timer_queue.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using psm::postscreen::TimerQueue;
using namespace std::chrono_literals;

namespace {

struct Recorder {
    std::vector<std::string>* log;
    std::string name;
    static void fire(void* self) {
        auto* r = static_cast<Recorder*>(self);
        r->log->push_back(r->name);
    }
};

} // namespace

TEST_CASE("timer queue fires entries in deadline order") {
    boost::asio::io_context io;
    TimerQueue q(io);
    std::vector<std::string> log;
    Recorder a{&log, "a"}, b{&log, "b"}, c{&log, "c"};
    TimerQueue::Entry ea, eb, ec;
    q.arm(ec, 60ms, &Recorder::fire, &c);
    q.arm(ea, 20ms, &Recorder::fire, &a);
    q.arm(eb, 40ms, &Recorder::fire, &b);
    CHECK(q.size() == 3);
    io.run_for(200ms);
    CHECK(log == std::vector<std::string>{"a", "b", "c"});
    CHECK(q.size() == 0);
    CHECK_FALSE(ea.armed());
}

TEST_CASE("timer queue: cancel, re-arm and destruction of an armed entry") {
    boost::asio::io_context io;
    TimerQueue q(io);
    std::vector<std::string> log;
    Recorder a{&log, "a"}, b{&log, "b"}, c{&log, "c"};
    TimerQueue::Entry ea, eb;
    q.arm(ea, 10ms, &Recorder::fire, &a);
    q.arm(eb, 30ms, &Recorder::fire, &b);
    {
        TimerQueue::Entry gone;
        q.arm(gone, 5ms, &Recorder::fire, &c);
    } // destroyed while armed: removed
    ea.cancel();
    const auto start = std::chrono::steady_clock::now(); // before the deadlines are set
    q.arm(eb, 50ms, &Recorder::fire, &b);                 // pushed back
    q.arm(ea, 40ms, &Recorder::fire, &a);
    io.run_for(150ms);
    CHECK(log == std::vector<std::string>{"a", "b"});
    CHECK(std::chrono::steady_clock::now() - start >= 50ms);
}

TEST_CASE("timer queue: precise deadlines, not whole seconds") {
    boost::asio::io_context io;
    TimerQueue q(io);
    TimerQueue::Entry e;
    std::chrono::steady_clock::time_point fired{};
    // Taken before arm(): the deadline is 120 ms after arm's own clock
    // reading, which can be a little earlier than a reading taken after it.
    const auto start = std::chrono::steady_clock::now();
    q.arm(
        e, 120ms, [](void* p) { *static_cast<std::chrono::steady_clock::time_point*>(p) = std::chrono::steady_clock::now(); },
        &fired);
    io.run_for(500ms);
    REQUIRE(fired != std::chrono::steady_clock::time_point{});
    CHECK(fired - start >= 120ms);
    CHECK(fired - start < 300ms);
}

TEST_CASE("timer queue: a callback may re-arm itself and destroy other entries") {
    boost::asio::io_context io;
    TimerQueue q(io);
    struct Ctx {
        TimerQueue* q;
        TimerQueue::Entry self;
        std::unique_ptr<TimerQueue::Entry> other;
        int count = 0;
    } ctx;
    ctx.q = &q;
    ctx.other = std::make_unique<TimerQueue::Entry>();
    q.arm(*ctx.other, 10ms, [](void*) { FAIL("destroyed entry fired"); }, nullptr);
    q.arm(
        ctx.self, 5ms,
        [](void* p) {
            auto& c = *static_cast<Ctx*>(p);
            c.other.reset();
            if (++c.count < 3) c.q->arm(c.self, 5ms, [](void* pp) { ++static_cast<Ctx*>(pp)->count; }, &c);
        },
        &ctx);
    io.run_for(100ms);
    CHECK(ctx.count == 2);
    CHECK(q.size() == 0);
}

TEST_CASE("timer queue: many entries, random order") {
    boost::asio::io_context io;
    TimerQueue q(io);
    constexpr int n = 2000;
    std::vector<TimerQueue::Entry> entries(n);
    struct Ctx {
        std::vector<long>* fired;
        long key;
    };
    std::vector<long> fired;
    std::vector<Ctx> ctx(n);
    const auto base = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        long ms = (i * 7919L) % 97;
        ctx[i] = Ctx{&fired, ms};
        q.arm_at(entries[i], base + std::chrono::milliseconds(ms), [](void* p) {
            auto& c = *static_cast<Ctx*>(p);
            c.fired->push_back(c.key);
        }, &ctx[i]);
    }
    for (int i = 0; i < n; i += 3)
        entries[i].cancel();
    io.run_for(300ms);
    CHECK(fired.size() == static_cast<std::size_t>(n - (n + 2) / 3));
    CHECK(std::is_sorted(fired.begin(), fired.end()));
}
