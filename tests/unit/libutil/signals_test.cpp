// Tests for signal callbacks on the io_context and for ignoring SIGPIPE.
#include "psm/util/signals.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <system_error>
#include <vector>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using psm::SignalHandlers;

namespace {

template <class Pred> bool run_until(boost::asio::io_context& io, Pred pred) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!pred() && std::chrono::steady_clock::now() < give_up) {
        io.restart();
        io.run_one_for(10ms);
    }
    return pred();
}

} // namespace

TEST_CASE("callbacks run on the io_context, not in the signal handler", "[signals]") {
    boost::asio::io_context io;
    SignalHandlers handlers(io);
    std::vector<int> got;
    handlers.on(SIGHUP, [&](int signo) { got.push_back(signo); });
    handlers.on(SIGTERM, [&](int signo) { got.push_back(signo); });
    REQUIRE(::raise(SIGHUP) == 0);
    CHECK(got.empty()); // nothing happens until the loop runs
    REQUIRE(run_until(io, [&] { return got.size() == 1; }));
    CHECK(got[0] == SIGHUP);
    REQUIRE(::raise(SIGTERM) == 0);
    REQUIRE(run_until(io, [&] { return got.size() == 2; }));
    CHECK(got[1] == SIGTERM);
    // Handling continues for later deliveries.
    REQUIRE(::raise(SIGHUP) == 0);
    REQUIRE(run_until(io, [&] { return got.size() == 3; }));
    CHECK(got[2] == SIGHUP);
}

TEST_CASE("a second on() replaces the callback", "[signals]") {
    boost::asio::io_context io;
    SignalHandlers handlers(io);
    int first = 0, second = 0;
    handlers.on(SIGUSR1, [&](int) { ++first; });
    handlers.on(SIGUSR1, [&](int) { ++second; });
    REQUIRE(::raise(SIGUSR1) == 0);
    REQUIRE(run_until(io, [&] { return second == 1; }));
    CHECK(first == 0);
}

TEST_CASE("SIGCHLD: the callback can reap the child", "[signals]") {
    boost::asio::io_context io;
    SignalHandlers handlers(io);
    pid_t reaped = 0;
    int status = -1;
    handlers.on(SIGCHLD, [&](int) {
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
            reaped = pid;
    });
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(7);
    REQUIRE(run_until(io, [&] { return reaped != 0; }));
    CHECK(reaped == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 7);
}

TEST_CASE("a destroyed handler set runs no callback for a pending signal", "[signals]") {
    boost::asio::io_context io;
    int calls = 0;
    {
        SignalHandlers handlers(io);
        handlers.on(SIGUSR2, [&](int) { ++calls; });
        REQUIRE(::raise(SIGUSR2) == 0);
    }
    io.run_for(50ms);
    CHECK(calls == 0);
}

TEST_CASE("a callback may destroy its handler set", "[signals]") {
    boost::asio::io_context io;
    auto handlers = std::make_unique<SignalHandlers>(io);
    int calls = 0;
    handlers->on(SIGUSR1, [&](int) {
        ++calls;
        handlers.reset();
    });
    REQUIRE(::raise(SIGUSR1) == 0);
    REQUIRE(run_until(io, [&] { return calls == 1; }));
    CHECK_FALSE(handlers);
}

TEST_CASE("signals that cannot be caught are refused", "[signals]") {
    boost::asio::io_context io;
    SignalHandlers handlers(io);
    CHECK_THROWS_AS(handlers.on(SIGKILL, [](int) {}), std::system_error);
    CHECK_THROWS_AS(handlers.on(100000, [](int) {}), std::system_error);
}

TEST_CASE("ignore_sigpipe: writing to a closed peer is EPIPE, not death", "[signals]") {
    psm::ignore_sigpipe();
    struct sigaction current {};
    REQUIRE(::sigaction(SIGPIPE, nullptr, &current) == 0);
    CHECK(current.sa_handler == SIG_IGN);

    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    ::close(fds[1]);
    errno = 0;
    // write(), unlike send(MSG_NOSIGNAL), would raise SIGPIPE if it were not ignored.
    CHECK(::write(fds[0], "x", 1) == -1);
    CHECK(errno == EPIPE);
    ::close(fds[0]);
}
