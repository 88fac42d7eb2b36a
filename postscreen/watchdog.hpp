// postscreen_watchdog_timeout: the process must get back to its event loop
// within this time. A heartbeat timer on the io_context ticks every third
// of the timeout; a helper thread checks the ticks and, when three checks
// in a row saw none, ends the process with stock's "fatal: watchdog
// timeout". Idle waiting keeps ticking, so only a stuck handler trips it.
// Stop it (destroy it) before fork(); the thread does not survive a fork.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace psm::postscreen {

class Watchdog {
public:
    Watchdog(boost::asio::io_context& io, std::chrono::milliseconds timeout);
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

private:
    void tick();
    void watch();

    std::chrono::milliseconds step_;
    boost::asio::steady_timer timer_;
    std::atomic<unsigned long> beats_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0); // guards a late timer completion
};

} // namespace psm::postscreen
