// Many one-shot deadlines on one Asio timer: entries (time, key, tag) in a
// min-heap; the owner's callback gets (key, tag) when one is due and
// decides whether it still matters (entries are never removed early, so an
// answered query simply ignores its stale timeout). Cheap enough for tens of
// thousands of DNS queries and requests per second: the Asio timer is armed
// for whole ticks of kTick only, so entries due within one tick expire in one
// wake-up (and one timerfd_settime) instead of one each. An entry runs at
// the end of its tick: never early, at most kTick late.
#pragma once

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <vector>

namespace psm::dnsblog {

class TimerHeap {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = std::function<void(std::uint64_t key, std::uint32_t tag)>;
    using Tick = std::chrono::duration<Clock::rep, std::ratio<4, 1000>>; // 4 ms
    static constexpr Tick kTick{1};

    TimerHeap(boost::asio::io_context& io, Callback on_expiry);
    ~TimerHeap();
    TimerHeap(const TimerHeap&) = delete;
    TimerHeap& operator=(const TimerHeap&) = delete;

    void schedule(Clock::time_point when, std::uint64_t key, std::uint32_t tag = 0);
    std::size_t size() const { return state_->heap.size(); }

private:
    struct Entry {
        Clock::time_point when;
        std::uint64_t key;
        std::uint32_t tag;
        bool operator>(const Entry& o) const { return when > o.when; }
    };
    struct State {
        explicit State(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
        Clock::time_point armed_for = Clock::time_point::max();
        std::uint64_t generation = 0;
        Callback callback;
    };

    static void arm(const std::shared_ptr<State>& state);
    static void fire(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;
};

} // namespace psm::dnsblog
