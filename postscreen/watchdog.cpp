// Watchdog: heartbeat on the loop, checks on a helper thread.
#include "watchdog.hpp"

#include "psm/util/log.hpp"

namespace psm::postscreen {

Watchdog::Watchdog(boost::asio::io_context& io, std::chrono::milliseconds timeout)
    : step_(std::max<std::chrono::milliseconds>(timeout / 3, std::chrono::milliseconds(1))), timer_(io) {
    tick();
    thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    alive_.reset();
    timer_.cancel();
}

void Watchdog::tick() {
    beats_.fetch_add(1, std::memory_order_relaxed);
    timer_.expires_after(step_);
    timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (!ec && !alive.expired()) tick();
    });
}

void Watchdog::watch() {
    unsigned long last = beats_.load(std::memory_order_relaxed);
    int silent = 0;
    std::unique_lock lock(mutex_);
    while (!stop_) {
        wake_.wait_for(lock, step_, [this] { return stop_; });
        if (stop_) break;
        unsigned long now = beats_.load(std::memory_order_relaxed);
        if (now != last) {
            last = now;
            silent = 0;
        } else if (++silent >= 3) {
            msg_fatal("watchdog timeout");
        }
    }
}

} // namespace psm::postscreen
