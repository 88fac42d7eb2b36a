// Tests for ReadinessWatch: the private epoll set that tells sessions when a
// client socket has input or smtpd has closed a hand-off channel.
#include "readiness_watch.hpp"

#include "psm/util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <vector>

namespace {

struct Channel {
    psm::UniqueFd ours, smtpd;
    Channel() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
        ours.reset(sv[0]);
        smtpd.reset(sv[1]);
    }
};

void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
}

void count_call(void* context) {
    ++*static_cast<int*>(context);
}

} // namespace

TEST_CASE("ReadinessWatch: smtpd's close is reported once per channel", "[readiness_watch]") {
    boost::asio::io_context io;
    psm::postscreen::ReadinessWatch watch(io);
    Channel c;
    int calls = 0;
    REQUIRE(watch.watch(c.ours.get(), count_call, &calls) != 0);
    CHECK(watch.size() == 1);
    io.run_for(std::chrono::milliseconds(20));
    CHECK(calls == 0); // smtpd has not closed its end yet

    c.smtpd.reset();
    run_until(io, [&] { return calls > 0; });
    CHECK(calls == 1);
    CHECK(watch.size() == 0);
    // The channel stays hung up until its owner closes it: still once.
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(calls == 1);
}

TEST_CASE("ReadinessWatch: a cancelled watch never calls back", "[readiness_watch]") {
    boost::asio::io_context io;
    psm::postscreen::ReadinessWatch watch(io);
    Channel c, d;
    int cancelled = 0, kept = 0;
    std::uint64_t t = watch.watch(c.ours.get(), count_call, &cancelled);
    REQUIRE(t != 0);
    REQUIRE(watch.watch(d.ours.get(), count_call, &kept) != 0);
    watch.cancel(t, c.ours.get());
    watch.cancel(t, c.ours.get()); // twice: no effect
    CHECK(watch.size() == 1);
    // A copy of the channel lives on (as after a fork): its close must not
    // reach the cancelled watch.
    psm::UniqueFd copy(::dup(c.ours.get()));
    c.ours.reset();
    c.smtpd.reset();
    d.smtpd.reset();
    run_until(io, [&] { return kept > 0; });
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(kept == 1);
    CHECK(cancelled == 0);
}

TEST_CASE("ReadinessWatch: many channels closed in one turn, and more watched later", "[readiness_watch]") {
    boost::asio::io_context io;
    psm::postscreen::ReadinessWatch watch(io);
    constexpr int kChannels = 150; // more than one epoll_wait() batch
    std::vector<Channel> channels(kChannels);
    std::vector<int> calls(kChannels, 0);
    for (int i = 0; i < kChannels; ++i)
        REQUIRE(watch.watch(channels[i].ours.get(), count_call, &calls[i]) != 0);
    for (auto& c : channels)
        c.smtpd.reset();
    int total = 0;
    run_until(io, [&] {
        total = 0;
        for (int n : calls)
            total += n;
        return total == kChannels;
    });
    CHECK(total == kChannels);
    for (int n : calls)
        CHECK(n == 1);

    // The wait is re-armed: a later hand-off is seen too.
    Channel late;
    int late_calls = 0;
    REQUIRE(watch.watch(late.ours.get(), count_call, &late_calls) != 0);
    late.smtpd.reset();
    run_until(io, [&] { return late_calls > 0; });
    CHECK(late_calls == 1);
}

TEST_CASE("ReadinessWatch: a descriptor that cannot be watched gives ticket 0", "[readiness_watch]") {
    boost::asio::io_context io;
    psm::postscreen::ReadinessWatch watch(io);
    int calls = 0;
    CHECK(watch.watch(-1, count_call, &calls) == 0);
    CHECK(watch.size() == 0);
}

TEST_CASE("ReadinessWatch: destroyed with watches pending, nothing calls back", "[readiness_watch]") {
    boost::asio::io_context io;
    Channel c;
    int calls = 0;
    {
        psm::postscreen::ReadinessWatch watch(io);
        REQUIRE(watch.watch(c.ours.get(), count_call, &calls) != 0);
    }
    c.smtpd.reset();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(calls == 0);
}

TEST_CASE("ReadinessWatch: a descriptor is watched again after its callback ran", "[readiness_watch]") {
    boost::asio::io_context io;
    psm::postscreen::ReadinessWatch watch(io);
    Channel c; // ours: the client's socket; smtpd: the client
    int calls = 0;
    REQUIRE(watch.watch(c.ours.get(), count_call, &calls) != 0);
    REQUIRE(::write(c.smtpd.get(), "x", 1) == 1);
    run_until(io, [&] { return calls > 0; });
    CHECK(calls == 1);
    // The input stays (it is only peeked at): watched again, it is
    // reported again, once.
    REQUIRE(watch.watch(c.ours.get(), count_call, &calls) != 0);
    run_until(io, [&] { return calls > 1; });
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(calls == 2);
    // Consumed: a third wait sees nothing until the client hangs up.
    char b;
    REQUIRE(::read(c.ours.get(), &b, 1) == 1);
    REQUIRE(watch.watch(c.ours.get(), count_call, &calls) != 0);
    io.restart();
    io.run_for(std::chrono::milliseconds(20));
    CHECK(calls == 2);
    c.smtpd.reset();
    run_until(io, [&] { return calls > 2; });
    CHECK(calls == 3);
}
