// TimerHeap: one steady_timer armed for the end of the earliest entry's tick (timer_heap.hpp).
#include "timer_heap.hpp"

namespace psm::dnsblog {

namespace {

// The end of the tick that `when` falls in.
TimerHeap::Clock::time_point tick_end(TimerHeap::Clock::time_point when) {
    return TimerHeap::Clock::time_point(std::chrono::ceil<TimerHeap::Tick>(when.time_since_epoch()));
}

} // namespace

TimerHeap::TimerHeap(boost::asio::io_context& io, Callback on_expiry) : state_(std::make_shared<State>(io)) {
    state_->callback = std::move(on_expiry);
}

TimerHeap::~TimerHeap() {
    state_->callback = nullptr;
    state_->timer.cancel();
}

void TimerHeap::schedule(Clock::time_point when, std::uint64_t key, std::uint32_t tag) {
    state_->heap.push(Entry{when, key, tag});
    if (tick_end(when) < state_->armed_for) arm(state_);
}

void TimerHeap::arm(const std::shared_ptr<State>& state) {
    if (state->heap.empty()) {
        state->armed_for = Clock::time_point::max();
        return;
    }
    state->armed_for = tick_end(state->heap.top().when);
    const std::uint64_t generation = ++state->generation;
    state->timer.expires_at(state->armed_for);
    state->timer.async_wait([weak = std::weak_ptr<State>(state), generation](const boost::system::error_code& ec) {
        auto s = weak.lock();
        if (!s || ec || s->generation != generation || !s->callback) return;
        fire(s);
    });
}

void TimerHeap::fire(const std::shared_ptr<State>& state) {
    state->armed_for = Clock::time_point::max();
    const auto now = Clock::now();
    // Bounded per turn so that a flood of expiries cannot starve I/O.
    for (int n = 0; n < 4096 && !state->heap.empty() && state->heap.top().when <= now; ++n) {
        Entry e = state->heap.top();
        state->heap.pop();
        state->callback(e.key, e.tag);
        if (!state->callback) return; // the owner went away
    }
    if (state->armed_for == Clock::time_point::max()) arm(state);
}

} // namespace psm::dnsblog
