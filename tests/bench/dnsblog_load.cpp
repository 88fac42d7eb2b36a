// psm-dnsblog-load: the load generator and DNS delay proxy of the dnsblog
// benchmark (tests/bench/run, scenario "dnsblog"; never run by ctest). One
// thread, one epoll loop, non-blocking sockets.
//
//   --socket PATH --domain D     lookups against a dnsblog UNIX socket
//       --protocol stock     stock postscreen's request, one connection per
//                            lookup (rbl_domain, client_address, label); a
//                            connect that fails (the listen queue is full) is
//                            a skipped lookup, as it is for stock postscreen,
//                            and that slot pauses 10 ms before its next one
//       --protocol weighted  psmaster's dnsbl_score request for one site,
//                            --pipeline requests in flight per connection
//   --delay-proxy ADDR:PORT --upstream ADDR:PORT --delay S
//       a UDP DNS forwarder that holds every reply for S seconds: the
//       "DNS server with added latency" (this machine's kernel has no netem)
//
// Every lookup asks about a client address of its own (127.x.y.z text inside
// the request; nothing ever connects to it), so no cache can answer. Loops
// are bounded by --count and --duration, each lookup by --timeout. Results
// go to stdout as one "RESULT key=value ..." line.
#include "bench_support.hpp"

#include "psm/global/attr.hpp"
#include "psm/global/dnsblog_protocol.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace psm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr long kMaxCount = 10'000'000;
constexpr double kMaxDuration = 3600;
constexpr int kMaxConcurrency = 20'000;
constexpr auto kSkipPause = std::chrono::milliseconds(10);

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int ms_until(Clock::time_point when, Clock::time_point now) {
    if (when <= now) return 0;
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(when - now).count());
}

using bench::die;
using bench::Fd;

// ADDR:PORT inside 127.0.0.0/8 as a sockaddr.
sockaddr_in loopback_sockaddr(const std::string& text, const char* what) {
    return bench::parse_endpoint(text, what).sockaddr();
}

// The i-th client address: 127.x.y.z with x in 1..254 and z in 1..254, so
// never 127.0.0.1 (the lists' health probe) and 16 million before repeating.
std::string client_address(long i) {
    long z = i % 254 + 1;
    long y = (i / 254) % 256;
    long x = (i / (254 * 256)) % 254 + 1;
    return "127." + std::to_string(x) + "." + std::to_string(y) + "." + std::to_string(z);
}

class Latencies {
public:
    void add(Clock::duration d) { ms_.push_back(seconds(d) * 1000.0); }
    double percentile(double p) {
        if (ms_.empty()) return 0;
        std::sort(ms_.begin(), ms_.end());
        auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(ms_.size() - 1) + 0.5);
        return ms_[std::min(k, ms_.size() - 1)];
    }

private:
    std::vector<double> ms_;
};

struct Options {
    std::string socket_path;
    std::string domain;
    bool weighted = false;
    long count = 100'000;
    double duration = 10;
    int concurrency = 100;
    int pipeline = 50;
    double timeout = 10;
    long first_client = 0;
    // delay proxy
    std::string proxy_listen, upstream;
    double delay = 0.05;
};

struct Counters {
    long started = 0, listed = 0, not_listed = 0, failed = 0, skipped = 0, timeouts = 0, errors = 0;
    long answered() const { return listed + not_listed + failed; }
};

// -- the lookup generator ------------------------------------------------------

class Generator {
public:
    explicit Generator(const Options& o) : opt_(o), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (!epoll_) die(std::string("epoll_create1: ") + std::strerror(errno));
        if (o.socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) die("socket path too long");
        addr_.sun_family = AF_UNIX;
        std::memcpy(addr_.sun_path, o.socket_path.c_str(), o.socket_path.size() + 1);
    }

    void run() {
        t0_ = Clock::now();
        end_ = t0_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.duration));
        if (opt_.weighted)
            run_weighted();
        else
            run_stock();
        double elapsed = seconds(last_ - t0_);
        if (elapsed <= 0) elapsed = seconds(Clock::now() - t0_);
        const auto& c = n_;
        std::printf("RESULT protocol=%s lookups=%ld answered=%ld listed=%ld not_listed=%ld failed=%ld skipped=%ld "
                    "timeouts=%ld errors=%ld elapsed=%.2f rate=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                    opt_.weighted ? "weighted" : "stock", c.started, c.answered(), c.listed, c.not_listed, c.failed,
                    c.skipped, c.timeouts, c.errors, elapsed, elapsed > 0 ? static_cast<double>(c.answered()) / elapsed : 0.0,
                    lat_.percentile(50), lat_.percentile(99), lat_.percentile(100));
    }

private:
    bool may_start(Clock::time_point now) const { return n_.started < opt_.count && now < end_; }

    Clock::time_point deadline_from(Clock::time_point now) const {
        return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout));
    }

    void note_answer(Clock::time_point started, Clock::time_point now) {
        lat_.add(now - started);
        last_ = now;
    }

    // ---- stock: one connection per lookup ----
    struct StockSlot {
        Fd fd;
        std::string out;
        std::size_t written = 0;
        AttrDecoder decoder;
        std::string address;
        std::string label;
        Clock::time_point started, deadline, resume;
        long serial = 0;
        bool busy = false;
    };

    void run_stock() {
        slots_.resize(static_cast<std::size_t>(opt_.concurrency));
        std::array<epoll_event, 256> events{};
        for (;;) {
            auto now = Clock::now();
            for (std::size_t i = 0; i < slots_.size(); ++i)
                if (!slots_[i].busy && now >= slots_[i].resume && may_start(now)) start_stock(i, now);
            if (active_ == 0 && !may_start(now)) break;
            auto wake = now + std::chrono::milliseconds(100);
            for (auto& s : slots_) {
                if (s.busy) wake = std::min(wake, s.deadline);
                else if (may_start(now)) wake = std::min(wake, std::max(s.resume, now));
            }
            int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), ms_until(wake, now));
            if (n < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
            now = Clock::now();
            for (int k = 0; k < n; ++k) on_stock_event(events[static_cast<std::size_t>(k)].data.u32, now);
            for (auto& s : slots_)
                if (s.busy && now >= s.deadline) {
                    ++n_.timeouts;
                    finish(s);
                }
        }
    }

    void start_stock(std::size_t i, Clock::time_point now) {
        auto& s = slots_[i];
        long serial = n_.started++;
        Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) die(std::string("socket: ") + std::strerror(errno));
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0 && errno != EINPROGRESS) {
            // EAGAIN: the listener's queue is full. Stock postscreen gives
            // up on that lookup; so do we, and the slot pauses a little.
            ++n_.skipped;
            s.resume = now + kSkipPause;
            return;
        }
        s.fd = std::move(fd);
        s.address = client_address(opt_.first_client + serial);
        s.label = std::to_string(serial % 1'000'000);
        s.out = attr_encode({attr::send_str("rbl_domain", opt_.domain), attr::send_str("client_address", s.address),
                             attr::send_str("label", s.label)});
        s.written = 0;
        s.decoder.reset();
        s.started = now;
        s.deadline = deadline_from(now);
        s.busy = true;
        s.serial = serial;
        ++active_;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u32 = static_cast<std::uint32_t>(i);
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, s.fd.get(), &ev) != 0) die("epoll_ctl ADD");
        write_stock(s);
    }

    void write_stock(StockSlot& s) {
        while (s.written < s.out.size()) {
            ssize_t k = ::send(s.fd.get(), s.out.data() + s.written, s.out.size() - s.written, MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                ++n_.errors;
                finish(s);
                return;
            }
            s.written += static_cast<std::size_t>(k);
        }
    }

    void on_stock_event(std::uint32_t i, Clock::time_point now) {
        auto& s = slots_[i];
        if (!s.busy) return;
        if (s.written < s.out.size()) {
            write_stock(s);
            if (!s.busy) return;
        }
        char buf[4096];
        for (;;) {
            ssize_t k = ::recv(s.fd.get(), buf, sizeof buf, 0);
            if (k < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                ++n_.errors;
                finish(s);
                return;
            }
            if (k == 0) { // closed before a whole reply
                ++n_.errors;
                finish(s);
                return;
            }
            s.decoder.feed(std::string_view(buf, static_cast<std::size_t>(k)));
            if (s.decoder.status() == AttrDecoder::Status::error) {
                ++n_.errors;
                finish(s);
                return;
            }
            if (s.decoder.status() == AttrDecoder::Status::complete) {
                classify_stock_reply(s, s.decoder.take(), now);
                finish(s);
                return;
            }
        }
    }

    void classify_stock_reply(const StockSlot& s, const AttrList& reply, Clock::time_point now) {
        std::string domain, address, rbl_addr;
        int label = -1, ttl = 0;
        auto scan = attr_scan(reply, "dnsblog", kAttrFlagStrict,
                              {attr::recv_str("rbl_domain", domain), attr::recv_str("client_address", address),
                               attr::recv_int("label", label), attr::recv_str("rbl_addr", rbl_addr),
                               attr::recv_int("ttl", ttl)});
        if (scan.conversions != 5 || domain != opt_.domain || address != s.address || std::to_string(label) != s.label) {
            ++n_.errors;
            return;
        }
        // Stock sends an empty rbl_addr both for "not listed" and for a
        // failed lookup; the benchmark's zones list every address it asks
        // about, so an empty answer here means the lookup failed.
        if (rbl_addr.empty())
            ++n_.failed;
        else
            ++n_.listed;
        note_answer(s.started, now);
    }

    void finish(StockSlot& s) {
        s.fd.reset(); // closing removes it from the epoll set
        s.busy = false;
        s.resume = {};
        --active_;
    }

    // ---- weighted: pipelined requests on a few connections ----
    struct Pending {
        Clock::time_point started, deadline;
        std::string address;
    };
    struct Conn {
        Fd fd;
        std::string out;
        AttrDecoder decoder;
        std::unordered_map<std::string, Pending> pending; // by label
        std::deque<std::pair<Clock::time_point, std::string>> deadlines;
    };

    void run_weighted() {
        int pipeline = std::max(1, std::min(opt_.pipeline, opt_.concurrency));
        std::size_t conns = static_cast<std::size_t>((opt_.concurrency + pipeline - 1) / pipeline);
        conns_.resize(conns);
        for (std::size_t i = 0; i < conns; ++i) {
            auto& c = conns_[i];
            c.fd = Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (!c.fd) die(std::string("socket: ") + std::strerror(errno));
            // A blocking connect, then non-blocking I/O: the generator's own
            // few connections are not what is measured.
            if (::connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0)
                die("connect " + opt_.socket_path + ": " + std::strerror(errno));
            if (set_nonblocking(c.fd.get()) != 0) die("non-blocking");
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u32 = static_cast<std::uint32_t>(i);
            if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) die("epoll_ctl ADD");
        }
        std::array<epoll_event, 256> events{};
        int per_conn = pipeline;
        for (;;) {
            auto now = Clock::now();
            bool open = false;
            for (std::size_t i = 0; i < conns_.size(); ++i) {
                auto& c = conns_[i];
                if (!c.fd) continue;
                open = true;
                while (static_cast<int>(c.pending.size()) < per_conn && may_start(now)) queue_weighted(c, now);
                flush(i);
            }
            if (!open) break;
            if (active_ == 0 && !may_start(now)) break;
            auto wake = now + std::chrono::milliseconds(100);
            for (auto& c : conns_)
                if (!c.deadlines.empty()) wake = std::min(wake, c.deadlines.front().first);
            int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), ms_until(wake, now));
            if (n < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
            now = Clock::now();
            for (int k = 0; k < n; ++k) {
                auto& ev = events[static_cast<std::size_t>(k)];
                if (ev.events & EPOLLOUT) flush(ev.data.u32);
                if (ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_weighted(ev.data.u32, now);
            }
            for (auto& c : conns_) expire(c, now);
        }
    }

    void queue_weighted(Conn& c, Clock::time_point now) {
        long serial = n_.started++;
        dnsblog::ScoreRequest r;
        r.label = std::to_string(serial);
        r.client_address = client_address(opt_.first_client + serial);
        r.sites = opt_.domain;
        attr_encode(c.out, dnsblog::encode_request(r));
        auto deadline = deadline_from(now);
        c.pending.emplace(r.label, Pending{now, deadline, r.client_address});
        c.deadlines.emplace_back(deadline, r.label);
        ++active_;
    }

    void flush(std::size_t i) {
        auto& c = conns_[i];
        if (!c.fd) return;
        while (!c.out.empty()) {
            ssize_t k = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                lose(c);
                return;
            }
            c.out.erase(0, static_cast<std::size_t>(k));
        }
        epoll_event ev{};
        ev.events = EPOLLIN | (c.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT));
        ev.data.u32 = static_cast<std::uint32_t>(i);
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    }

    void read_weighted(std::size_t i, Clock::time_point now) {
        auto& c = conns_[i];
        if (!c.fd) return;
        char buf[65536];
        for (;;) {
            ssize_t k = ::recv(c.fd.get(), buf, sizeof buf, 0);
            if (k < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                lose(c);
                return;
            }
            if (k == 0) {
                lose(c);
                return;
            }
            std::string_view in(buf, static_cast<std::size_t>(k));
            while (!in.empty()) {
                in.remove_prefix(c.decoder.feed(in));
                if (c.decoder.status() == AttrDecoder::Status::error) {
                    lose(c);
                    return;
                }
                if (c.decoder.status() == AttrDecoder::Status::complete) on_weighted_reply(c, c.decoder.take(), now);
            }
        }
    }

    void on_weighted_reply(Conn& c, const AttrList& list, Clock::time_point now) {
        auto reply = dnsblog::decode_reply(list);
        if (!reply) {
            ++n_.errors;
            return;
        }
        auto it = c.pending.find(reply->label);
        if (it == c.pending.end()) return; // timed out already
        Pending p = std::move(it->second);
        c.pending.erase(it);
        --active_;
        if (reply->status == dnsblog::ReplyStatus::overload) {
            ++n_.skipped;
            return;
        }
        if (reply->status != dnsblog::ReplyStatus::ok || reply->client_address != p.address ||
            reply->sites.size() != 1) {
            ++n_.errors;
            return;
        }
        switch (reply->sites.front().status) {
        case dnsblog::SiteStatus::listed: ++n_.listed; break;
        case dnsblog::SiteStatus::not_listed: ++n_.not_listed; break;
        default: ++n_.failed; break;
        }
        note_answer(p.started, now);
    }

    void expire(Conn& c, Clock::time_point now) {
        while (!c.deadlines.empty() && c.deadlines.front().first <= now) {
            if (c.pending.erase(c.deadlines.front().second) != 0) {
                ++n_.timeouts;
                --active_;
            }
            c.deadlines.pop_front();
        }
    }

    // The connection broke: what was in flight on it is lost (errors).
    void lose(Conn& c) {
        n_.errors += static_cast<long>(c.pending.size());
        active_ -= static_cast<long>(c.pending.size());
        c.pending.clear();
        c.deadlines.clear();
        c.fd.reset();
    }

    static int set_nonblocking(int fd) {
        int flags = ::fcntl(fd, F_GETFL);
        return flags < 0 ? -1 : ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }

    Options opt_;
    Fd epoll_;
    sockaddr_un addr_{};
    Clock::time_point t0_, end_, last_;
    Counters n_;
    Latencies lat_;
    long active_ = 0;
    std::vector<StockSlot> slots_;
    std::vector<Conn> conns_;
};

// -- the delay proxy -----------------------------------------------------------

volatile sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) { g_stop = 1; }

void run_delay_proxy(const Options& o) {
    auto listen_sa = loopback_sockaddr(o.proxy_listen, "--delay-proxy");
    auto upstream_sa = loopback_sockaddr(o.upstream, "--upstream");
    auto udp = [] {
        Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) die(std::string("socket: ") + std::strerror(errno));
        int size = 8 << 20;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        return fd;
    };
    Fd front = udp(), back = udp();
    if (::bind(front.get(), reinterpret_cast<const sockaddr*>(&listen_sa), sizeof listen_sa) != 0)
        die("bind " + o.proxy_listen + ": " + std::strerror(errno));
    if (::connect(back.get(), reinterpret_cast<const sockaddr*>(&upstream_sa), sizeof upstream_sa) != 0)
        die("connect " + o.upstream + ": " + std::strerror(errno));
    Fd ep(::epoll_create1(EPOLL_CLOEXEC));
    for (int k = 0; k < 2; ++k) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<std::uint32_t>(k);
        ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, (k == 0 ? front : back).get(), &ev);
    }
    // Queries get the proxy's own 16-bit ids (the clients' ids may collide).
    struct Flight {
        sockaddr_in client{};
        std::uint16_t id = 0;
        Clock::time_point sent;
        bool used = false;
    };
    std::vector<Flight> flights(65536);
    std::uint16_t next_id = 0;
    struct Due {
        Clock::time_point when;
        sockaddr_in client;
        std::string packet;
    };
    std::deque<Due> due;
    const auto delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.delay));
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
    long forwarded = 0, answered = 0, dropped = 0;
    ::signal(SIGTERM, on_stop);
    ::signal(SIGINT, on_stop);
    std::printf("LISTENING\n");
    std::fflush(stdout);
    std::array<epoll_event, 64> events{};
    char buf[65536];
    while (!g_stop && Clock::now() < end) {
        auto now = Clock::now();
        int wait = due.empty() ? 100 : std::min(100, ms_until(due.front().when, now));
        int n = ::epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()), wait);
        if (n < 0 && errno != EINTR) die(std::string("epoll_wait: ") + std::strerror(errno));
        now = Clock::now();
        for (int k = 0; k < n; ++k) {
            bool from_client = events[static_cast<std::size_t>(k)].data.u32 == 0;
            for (;;) {
                sockaddr_in peer{};
                socklen_t len = sizeof peer;
                ssize_t got = ::recvfrom((from_client ? front : back).get(), buf, sizeof buf, 0,
                                         reinterpret_cast<sockaddr*>(&peer), &len);
                if (got < 0) break;
                if (got < 12) continue; // not a DNS message
                std::uint16_t id = static_cast<std::uint16_t>((static_cast<unsigned char>(buf[0]) << 8) |
                                                              static_cast<unsigned char>(buf[1]));
                if (from_client) {
                    auto& f = flights[next_id];
                    if (f.used && now - f.sent < std::chrono::seconds(5)) {
                        ++dropped; // 65536 queries in flight: none of ours
                        continue;
                    }
                    f = Flight{peer, id, now, true};
                    buf[0] = static_cast<char>(next_id >> 8);
                    buf[1] = static_cast<char>(next_id & 0xff);
                    ++next_id;
                    if (::send(back.get(), buf, static_cast<std::size_t>(got), 0) >= 0) ++forwarded;
                } else {
                    auto& f = flights[id];
                    if (!f.used) continue;
                    f.used = false;
                    buf[0] = static_cast<char>(f.id >> 8);
                    buf[1] = static_cast<char>(f.id & 0xff);
                    due.push_back(Due{now + delay, f.client, std::string(buf, static_cast<std::size_t>(got))});
                }
            }
        }
        while (!due.empty() && due.front().when <= now) {
            auto& d = due.front();
            if (::sendto(front.get(), d.packet.data(), d.packet.size(), 0, reinterpret_cast<const sockaddr*>(&d.client),
                         sizeof d.client) >= 0)
                ++answered;
            due.pop_front();
        }
    }
    std::printf("RESULT mode=delay-proxy forwarded=%ld answered=%ld dropped=%ld\n", forwarded, answered, dropped);
}

// -- command line ----------------------------------------------------------------

[[noreturn]] void usage() {
    std::fputs("usage: psm-dnsblog-load --socket PATH --domain D [--protocol stock|weighted] [--count N]\n"
               "           [--duration S] [--concurrency C] [--pipeline P] [--timeout S] [--first-client I]\n"
               "       psm-dnsblog-load --delay-proxy ADDR:PORT --upstream ADDR:PORT [--delay S] [--duration S]\n",
               stderr);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    bool proxy = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        auto number = [&]() { return std::strtod(value().c_str(), nullptr); };
        if (a == "--socket") o.socket_path = value();
        else if (a == "--domain") o.domain = value();
        else if (a == "--protocol") {
            auto p = value();
            if (p != "stock" && p != "weighted") usage();
            o.weighted = p == "weighted";
        } else if (a == "--count") o.count = static_cast<long>(number());
        else if (a == "--duration") o.duration = number();
        else if (a == "--concurrency") o.concurrency = static_cast<int>(number());
        else if (a == "--pipeline") o.pipeline = static_cast<int>(number());
        else if (a == "--timeout") o.timeout = number();
        else if (a == "--first-client") o.first_client = static_cast<long>(number());
        else if (a == "--delay-proxy") { o.proxy_listen = value(); proxy = true; }
        else if (a == "--upstream") o.upstream = value();
        else if (a == "--delay") o.delay = number();
        else usage();
    }
    if (o.count < 1 || o.count > kMaxCount) die("--count must be 1.." + std::to_string(kMaxCount));
    if (!(o.duration > 0 && o.duration <= kMaxDuration)) die("--duration must be in (0, 3600]");
    if (o.concurrency < 1 || o.concurrency > kMaxConcurrency) die("--concurrency must be 1..20000");
    if (!(o.timeout > 0 && o.timeout <= 60)) die("--timeout must be in (0, 60]");
    if (proxy) {
        if (o.upstream.empty()) usage();
        if (!(o.delay >= 0 && o.delay <= 10)) die("--delay must be in [0, 10]");
    } else if (o.socket_path.empty() || o.domain.empty()) {
        usage();
    }
    return o;
}

} // namespace
} // namespace psm

int main(int argc, char** argv) {
    psm::bench::program_name = "psm-dnsblog-load";
    auto opt = psm::parse(argc, argv);
    ::signal(SIGPIPE, SIG_IGN);
    psm::bench::raise_fd_limit();
    if (!opt.proxy_listen.empty())
        psm::run_delay_proxy(opt);
    else
        psm::Generator(opt).run();
    return 0;
}
