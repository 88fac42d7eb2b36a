// psm-pass-floor: the least any postscreen must do for a PASS OLD client, as
// a server of its own (tests/bench/run puts it in front of the same stock
// smtpd `pass` service as the postscreens; never run by ctest). Per client:
// accept, connect to the pass socket, send the descriptor with the four
// attributes (protocols.md §2.2, the same bytes as postscreen's hand-off),
// wait for smtpd to close the channel, close both. No logging, no cache, no
// access list, no timers: its rate against a direct smtpd is the ceiling of
// "PASS OLD, % of direct" on the machine. One thread, one epoll loop; bounded
// by --duration and --count. Prints LISTENING, then one RESULT line (also
// when stopped by SIGTERM).
#include "bench_support.hpp"

#include "psm/global/attr.hpp"
#include "psm/util/fd_passing.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace psm::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr long kMaxCount = 10'000'000;
constexpr double kMaxDuration = 3600;
// A full smtpd listen queue (EAGAIN on connect) is retried this often, as
// our postscreen does for a second; after kMaxTries the client is dropped.
constexpr int kRetryMs = 10;
constexpr int kMaxTries = 100;

volatile sig_atomic_t stop_requested = 0; // SIGTERM: print RESULT and exit

struct Options {
    Endpoint listen;
    std::string pass_socket;
    double duration = 10;
    long count = kMaxCount;
};

// A client between accept and smtpd's close of the channel.
struct Client {
    Fd socket;
    Fd channel;
    std::string attributes;
    int tries = 0;
};

class PassFloor {
public:
    explicit PassFloor(Options opt) : opt_(std::move(opt)) {
        if (opt_.pass_socket.size() >= sizeof(pass_addr_.sun_path)) die("pass socket path too long");
        pass_addr_.sun_family = AF_UNIX;
        std::memcpy(pass_addr_.sun_path, opt_.pass_socket.data(), opt_.pass_socket.size());
        char text[INET_ADDRSTRLEN];
        in_addr a{htonl(opt_.listen.addr)};
        inet_ntop(AF_INET, &a, text, sizeof text);
        server_address_ = text;
        server_port_ = std::to_string(opt_.listen.port);
    }

    int run() {
        listener_ = listen_tcp(opt_.listen);
        epoll_ = Fd(epoll_create1(EPOLL_CLOEXEC));
        watch(listener_.get(), kListener);
        std::printf("LISTENING\n");
        std::fflush(stdout);
        auto t0 = Clock::now();
        while (!stop_requested && seconds_since(t0) < opt_.duration && accepted_ < opt_.count) {
            epoll_event evs[64];
            int n = epoll_wait(epoll_.get(), evs, 64, retry_.empty() ? 100 : kRetryMs);
            for (int i = 0; i < n; ++i) {
                if (evs[i].data.u64 == kListener)
                    accept_clients();
                else
                    acknowledged(static_cast<std::size_t>(evs[i].data.u64));
            }
            if (!retry_.empty() && Clock::now() >= next_retry_) retry_pending();
        }
        std::printf("RESULT mode=pass-floor accepted=%ld passed=%ld acknowledged=%ld dropped=%ld elapsed=%.2f\n",
                    accepted_, passed_, acknowledged_, dropped_, seconds_since(t0));
        return 0;
    }

private:
    static constexpr std::uint64_t kListener = ~std::uint64_t{0};

    void watch(int fd, std::uint64_t tag) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = tag;
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) die(std::string("epoll_ctl: ") + std::strerror(errno));
    }

    void accept_clients() {
        for (int k = 0; k < 1024 && accepted_ < opt_.count; ++k) {
            sockaddr_in peer{};
            socklen_t len = sizeof peer;
            Fd fd(accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!fd) return;
            ++accepted_;
            Client c;
            c.socket = std::move(fd);
            char text[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
            Attr0Writer w(c.attributes);
            w.str("client_address", text);
            w.str("client_port", std::to_string(ntohs(peer.sin_port)));
            w.str("server_address", server_address_);
            w.str("server_port", server_port_);
            w.end();
            hand_off(std::move(c));
        }
    }

    void hand_off(Client c) {
        Fd channel(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!channel) return drop();
        if (connect(channel.get(), reinterpret_cast<const sockaddr*>(&pass_addr_), sizeof pass_addr_) < 0) {
            if (errno == EAGAIN && ++c.tries < kMaxTries) {
                if (retry_.empty()) next_retry_ = Clock::now() + std::chrono::milliseconds(kRetryMs);
                retry_.push_back(std::move(c));
                return;
            }
            return drop();
        }
        if (send_fd(channel.get(), c.socket.get(), c.attributes) != 0) return drop();
        ++passed_;
        c.channel = std::move(channel);
        std::size_t slot;
        if (free_.empty()) {
            slot = clients_.size();
            clients_.emplace_back();
        } else {
            slot = free_.back();
            free_.pop_back();
        }
        watch(c.channel.get(), slot);
        clients_[slot] = std::move(c);
    }

    // smtpd closed the channel: it has the client.
    void acknowledged(std::size_t slot) {
        if (slot >= clients_.size() || !clients_[slot].channel) return;
        clients_[slot] = Client{}; // closes both (close() also leaves the epoll set)
        free_.push_back(slot);
        ++acknowledged_;
    }

    void retry_pending() {
        std::deque<Client> again;
        again.swap(retry_);
        for (auto& c : again)
            hand_off(std::move(c));
    }

    void drop() { ++dropped_; }

    Options opt_;
    sockaddr_un pass_addr_{};
    std::string server_address_;
    std::string server_port_;
    Fd listener_;
    Fd epoll_;
    std::vector<Client> clients_;
    std::vector<std::size_t> free_;
    std::deque<Client> retry_;
    Clock::time_point next_retry_;
    long accepted_ = 0, passed_ = 0, acknowledged_ = 0, dropped_ = 0;
};

[[noreturn]] void usage() {
    std::fputs("usage: psm-pass-floor --listen ADDR:PORT --pass SOCKET [--duration S] [--count N]\n"
               "Only 127.0.0.0/8 addresses are accepted.\n",
               stderr);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    bool have_listen = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage();
        std::string v = argv[++i];
        if (a == "--listen") {
            o.listen = parse_endpoint(v, "listen");
            have_listen = true;
        } else if (a == "--pass")
            o.pass_socket = v;
        else if (a == "--duration" || a == "--count") {
            char* end = nullptr;
            double d = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || d <= 0) die("bad number for " + a + ": " + v);
            if (a == "--duration")
                o.duration = std::min(d, kMaxDuration);
            else
                o.count = std::min(static_cast<long>(d), kMaxCount);
        } else
            usage();
    }
    if (!have_listen || o.pass_socket.empty()) usage();
    return o;
}

} // namespace
} // namespace psm::bench

int main(int argc, char** argv) {
    psm::bench::program_name = "psm-pass-floor";
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, [](int) { psm::bench::stop_requested = 1; });
    psm::bench::raise_fd_limit();
    return psm::bench::PassFloor(psm::bench::parse(argc, argv)).run();
}
