// Signal handling for daemons: callbacks for chosen signals run on the
// io_context (never inside the asynchronous signal handler), and SIGPIPE
// can be ignored process-wide so that a write to a closed peer is an EPIPE
// error instead of death.
#pragma once

#include <functional>
#include <memory>
#include <utility>
#include <vector>

// Boost 1.74 Asio needs <utility> before it with GCC 12 (std::exchange).
#include <boost/asio.hpp>

namespace psm {

// Ignores SIGPIPE for the whole process (as every Postfix daemon does).
// Throws std::system_error on failure.
void ignore_sigpipe();

class SignalHandlers {
public:
    using Callback = std::function<void(int signo)>;

    explicit SignalHandlers(boost::asio::io_context& io);
    // Stops handling: callbacks no longer run, and signals that no other
    // handler watches get their default disposition back.
    ~SignalHandlers();
    SignalHandlers(const SignalHandlers&) = delete;
    SignalHandlers& operator=(const SignalHandlers&) = delete;

    // Catches signo from now on and runs callback for it; a second call for
    // the same signal replaces the callback. Several deliveries of a signal
    // before the loop gets to it may run the callback once (for SIGCHLD,
    // reap with waitpid(WNOHANG) until nothing is left). A callback may
    // call on() or destroy this object. Throws std::system_error when the
    // signal cannot be caught (SIGKILL, SIGSTOP, out of range).
    void on(int signo, Callback callback);

private:
    struct State {
        explicit State(boost::asio::io_context& io) : signals(io) {}
        boost::asio::signal_set signals;
        std::vector<std::pair<int, Callback>> callbacks;
        bool active = true;
    };

    static void wait(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;
};

} // namespace psm
