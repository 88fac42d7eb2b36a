// A restartable one-shot timer for per-session deadlines on the io_context.
// arm() replaces any earlier deadline; the callback runs only for the
// latest arm() that was neither cancelled nor replaced, and never after the
// Deadline is destroyed, even when the timer's completion was already
// queued. So callbacks may capture raw pointers to the Deadline's owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

// Boost 1.74 Asio needs <utility> before it with GCC 12 (std::exchange).
#include <boost/asio.hpp>

namespace psm {

class Deadline {
public:
    using Clock = std::chrono::steady_clock;

    explicit Deadline(boost::asio::io_context& io);
    ~Deadline();
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    // Runs on_expiry() on the io_context after timeout, unless re-armed or
    // cancelled first. on_expiry may re-arm or destroy this Deadline.
    template <class F> void arm(Clock::duration timeout, F on_expiry);

    void cancel();
    bool armed() const { return state_->armed; }
    // Expiry time of the current arm (meaningless when not armed).
    Clock::time_point expiry() const { return state_->timer.expiry(); }

private:
    struct State {
        explicit State(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        std::uint64_t generation = 0; // identifies the current arm()
        bool armed = false;
    };

    std::uint64_t restart(Clock::duration timeout); // returns the new generation

    std::shared_ptr<State> state_;
};

template <class F> void Deadline::arm(Clock::duration timeout, F on_expiry) {
    const std::uint64_t generation = restart(timeout);
    state_->timer.async_wait([weak = std::weak_ptr<State>(state_), generation,
                              on_expiry = std::move(on_expiry)](const boost::system::error_code& ec) mutable {
        std::shared_ptr<State> state = weak.lock();
        if (!state || ec || state->generation != generation) return;
        state->armed = false;
        on_expiry();
    });
}

} // namespace psm
