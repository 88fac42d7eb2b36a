// Signal callbacks on the io_context, SIGPIPE ignored (see signals.hpp).
#include "psm/util/signals.hpp"

#include <cerrno>
#include <csignal>
#include <string>
#include <system_error>

namespace psm {

void ignore_sigpipe() {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGPIPE, &action, nullptr) != 0)
        throw std::system_error(errno, std::generic_category(), "sigaction SIGPIPE");
}

SignalHandlers::SignalHandlers(boost::asio::io_context& io) : state_(std::make_shared<State>(io)) {
    wait(state_);
}

SignalHandlers::~SignalHandlers() {
    state_->active = false;
    boost::system::error_code ignored;
    state_->signals.cancel(ignored);
    state_->signals.clear(ignored);
}

void SignalHandlers::on(int signo, Callback callback) {
    for (auto& [number, existing] : state_->callbacks) {
        if (number == signo) {
            existing = std::move(callback);
            return;
        }
    }
    boost::system::error_code ec;
    state_->signals.add(signo, ec);
    if (ec) throw std::system_error(ec.value(), std::generic_category(), "catch signal " + std::to_string(signo));
    state_->callbacks.emplace_back(signo, std::move(callback));
}

void SignalHandlers::wait(const std::shared_ptr<State>& state) {
    state->signals.async_wait([weak = std::weak_ptr<State>(state)](const boost::system::error_code& ec, int signo) {
        std::shared_ptr<State> state = weak.lock();
        if (!state || !state->active || ec) return;
        // Copy: the callback may replace itself through on().
        Callback callback;
        for (const auto& [number, registered] : state->callbacks)
            if (number == signo) callback = registered;
        if (callback) callback(signo);
        if (state->active) wait(state);
    });
}

} // namespace psm
