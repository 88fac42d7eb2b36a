// Restartable one-shot timer (see deadline.hpp).
#include "psm/util/deadline.hpp"

namespace psm {

Deadline::Deadline(boost::asio::io_context& io) : state_(std::make_shared<State>(io)) {}

Deadline::~Deadline() {
    cancel();
}

std::uint64_t Deadline::restart(Clock::duration timeout) {
    state_->timer.expires_after(timeout); // cancels a pending wait
    state_->armed = true;
    return ++state_->generation;
}

void Deadline::cancel() {
    ++state_->generation; // a completion that is already queued becomes stale
    state_->armed = false;
    state_->timer.cancel();
}

} // namespace psm
