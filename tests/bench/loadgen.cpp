// psm-loadgen: the benchmark load generator (tests/bench/run drives it; never
// run by ctest). One thread, one epoll loop, non-blocking sockets. Every client
// socket is bound to its own 127.x.y.z source address before it connects, and
// only 127.0.0.0/8 targets are accepted. Modes:
//   pregreet  send "EHLO x" at once, read until the server closes
//   connect   send nothing, read until close (QUIT after a final 220 reply)
//   smtp      a whole session EHLO [MAIL RCPT [DATA]] QUIT; each session
//             ends in one outcome (passed, 4xx, 5xx, dropped, unexpected),
//             and --retry-4xx N reconnects from the same source after a 4xx
//   slow      like smtp, but every command is sent one byte per --interval
//   idle      open --count connections, hold them --duration seconds, and
//             meanwhile run legit smtp sessions against --legit-target
//   --serve   a trivial accept-write-close server (the machine's ceiling)
//   connect --silent  never sends QUIT: waits until the server closes
// --ramp S lets the sessions in flight grow to --concurrency over the first S
// seconds instead of opening them all at once: a burst larger than the
// server's listen backlog loses SYNs, and each costs a 1 s retransmission.
// Every loop is bounded by --count and --duration; each session by --timeout.
// Results are printed as one "RESULT key=value ..." line.
#include "bench_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace psm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr long kMaxCount = 10'000'000;
constexpr double kMaxDuration = 3600;
constexpr int kMaxConcurrency = 200'000;
constexpr std::size_t kMaxReply = 64 * 1024;

using bench::die;
using bench::Endpoint;
using bench::Fd;
using bench::parse_endpoint;
using bench::parse_loopback;
using bench::seconds_since;

// Source addresses FIRST, FIRST+1, ... (skipping .0 and .255), COUNT of them,
// handed out round-robin.
class SourcePool {
public:
    SourcePool() = default;
    SourcePool(std::uint32_t first, long count) {
        std::uint32_t a = first;
        for (long i = 0; i < count; ++i) {
            while ((a & 0xff) == 0 || (a & 0xff) == 255)
                ++a;
            if ((a >> 24) != 127) die("source range runs out of 127.0.0.0/8");
            addrs_.push_back(a);
            ++a;
        }
    }
    bool empty() const { return addrs_.empty(); }
    std::uint32_t next() {
        std::uint32_t a = addrs_[next_ % addrs_.size()];
        ++next_;
        return a;
    }

private:
    std::vector<std::uint32_t> addrs_;
    std::size_t next_ = 0;
};

SourcePool parse_sources(const std::string& text) {
    // FIRST[+COUNT]
    auto plus = text.find('+');
    std::uint32_t first = parse_loopback(text.substr(0, plus), "source");
    long count = plus == std::string::npos ? 1 : std::strtol(text.c_str() + plus + 1, nullptr, 10);
    if (count < 1 || count > 16'000'000) die("bad source count: " + text);
    return SourcePool(first, count);
}

enum class Mode { Pregreet, Connect, Smtp, Idle, Slow };
enum class Role { Main, Idle, Legit };

struct Options {
    Mode mode = Mode::Pregreet;
    std::optional<Endpoint> target;
    std::optional<Endpoint> serve;
    std::string sources;
    long count = -1; // default: 1000 sessions, unbounded (kMaxCount) for --serve
    double duration = 10;
    int concurrency = 50;
    double ramp = 0; // seconds over which in-flight grows to concurrency
    double timeout = 10;
    std::string until = "data"; // smtp: ehlo | rcpt | data
    std::optional<Endpoint> legit_target;
    std::string legit_sources;
    int legit_concurrency = 4;
    long legit_count = 1'000'000;
    std::string legit_until = "ehlo";
    double open_timeout = 60;
    double interval = 0.2;    // slow: seconds between two bytes
    int retry_4xx = 0;        // smtp/slow: reconnects after a 4xx
    double retry_delay = 1.0; // seconds before such a reconnect
    bool silent = false;      // connect: no QUIT after a 220
};

// Latency samples (milliseconds) of finished sessions.
struct Stats {
    long started = 0;
    long ok = 0;
    long errors = 0;
    long resets_after_reply = 0;
    std::map<std::string, long> error_kinds;
    std::map<int, long> final_codes;
    std::vector<double> latency_ms;
    Clock::time_point first_start{};
    Clock::time_point last_done{};
    // smtp/slow: exactly one outcome per session, keyed "CODE@STEP" or
    // "KIND@STEP" (the step whose reply was awaited).
    long clients = 0; // first attempts
    long passed = 0;  // the reply before QUIT's was the expected 2xx
    std::map<std::string, long> temp, perm, dropped, unexpected;
    long retried = 0;
    long gave_up = 0; // a 4xx and no retry left

    static long total(const std::map<std::string, long>& m) {
        long n = 0;
        for (auto& [k, v] : m)
            n += v;
        return n;
    }
    static std::string kinds(const std::map<std::string, long>& m) {
        std::string out;
        for (auto& [k, n] : m)
            out += (out.empty() ? "" : ",") + k + ":" + std::to_string(n);
        return out.empty() ? "none" : out;
    }
    std::string outcomes(long retry_pending) const {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "started=%ld clients=%ld passed=%ld temp=%ld perm=%ld dropped=%ld unexpected=%ld "
                      "retried=%ld gave_up=%ld retry_pending=%ld",
                      started, clients, passed, total(temp), total(perm), total(dropped), total(unexpected), retried,
                      gave_up, retry_pending);
        return std::string(buf) + " temp_codes=" + kinds(temp) + " perm_codes=" + kinds(perm) +
               " dropped_kinds=" + kinds(dropped) + " unexpected_codes=" + kinds(unexpected);
    }

    void error(const std::string& kind) {
        ++errors;
        ++error_kinds[kind];
    }
    double percentile(double p) {
        if (latency_ms.empty()) return 0;
        std::sort(latency_ms.begin(), latency_ms.end());
        auto i = static_cast<std::size_t>(p * static_cast<double>(latency_ms.size() - 1) + 0.5);
        return latency_ms[std::min(i, latency_ms.size() - 1)];
    }
    double rate() const {
        double span = std::chrono::duration<double>(last_done - first_start).count();
        return ok > 0 && span > 0 ? static_cast<double>(ok) / span : 0;
    }
    std::string summary(const std::string& prefix) {
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "%ssessions=%ld %serrors=%ld %srate=%.1f %sp50_ms=%.2f %sp99_ms=%.2f %smax_ms=%.2f",
                      prefix.c_str(), ok, prefix.c_str(), errors, prefix.c_str(), rate(), prefix.c_str(),
                      percentile(0.5), prefix.c_str(), percentile(0.99), prefix.c_str(),
                      latency_ms.empty() ? 0.0 : *std::max_element(latency_ms.begin(), latency_ms.end()));
        std::string out = buf;
        std::string kinds;
        for (auto& [k, n] : error_kinds)
            kinds += (kinds.empty() ? "" : ",") + k + ":" + std::to_string(n);
        if (!kinds.empty()) out += " " + prefix + "error_kinds=" + kinds;
        std::string codes;
        for (auto& [c, n] : final_codes)
            codes += (codes.empty() ? "" : ",") + std::to_string(c) + ":" + std::to_string(n);
        if (!codes.empty()) out += " " + prefix + "codes=" + codes;
        if (resets_after_reply) out += " " + prefix + "resets_after_reply=" + std::to_string(resets_after_reply);
        return out;
    }
};

// One SMTP step: an optional line to send, then the expected reply class.
struct Step {
    std::string send;
    char expect;
    std::string name; // for outcome keys
};

std::vector<Step> smtp_script(const std::string& until) {
    std::vector<Step> s{{"", '2', "greet"}, {"EHLO loadgen.psm.test\r\n", '2', "ehlo"}};
    if (until == "rcpt" || until == "data") {
        s.push_back({"MAIL FROM:<bench@loadgen.psm.test>\r\n", '2', "mail"});
        s.push_back({"RCPT TO:<user@psm.test>\r\n", '2', "rcpt"});
    }
    if (until == "data") {
        s.push_back({"DATA\r\n", '3', "data"});
        s.push_back({"Subject: psm-loadgen\r\n\r\nbenchmark message\r\n.\r\n", '2', "message"});
    }
    s.push_back({"QUIT\r\n", '2', "quit"});
    return s;
}

struct Conn {
    Fd fd;
    Role role = Role::Main;
    bool connected = false;
    bool out_armed = false; // EPOLLOUT is in the epoll set
    bool held = false;      // idle: got its first line
    bool got_final = false; // pregreet/connect: saw a final reply
    Clock::time_point start;
    Clock::time_point deadline;
    std::string in;
    std::string out;
    std::size_t step = 0; // smtp: the step whose reply is awaited
    std::uint32_t src = 0;
    int attempt = 0;        // 0: first connection of this client
    bool settled = false;   // smtp/slow: the outcome is counted
    bool quitting = false;  // smtp/slow: QUIT sent after a 4xx/5xx
    std::string error_kind; // the error to count when a quitting session ends
    std::string drip;       // slow: bytes still to send, one per interval
    Clock::time_point next_byte;
};

// A client that got a 4xx and reconnects from the same source.
struct Retry {
    Clock::time_point at;
    std::uint32_t src;
    int attempt;
};

class Generator {
public:
    explicit Generator(Options o) : opt_(std::move(o)) {
        ep_ = Fd(epoll_create1(EPOLL_CLOEXEC));
        if (ep_.get() < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
        if (!opt_.sources.empty()) sources_ = parse_sources(opt_.sources);
        if (!opt_.legit_sources.empty()) legit_sources_ = parse_sources(opt_.legit_sources);
        script_ = smtp_script(opt_.until);
        rlimit rl{};
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            fd_reserve_ = static_cast<int>(std::max<rlim_t>(rl.rlim_cur, 200) - 100);
        legit_script_ = smtp_script(opt_.legit_until);
    }

    int run() {
        switch (opt_.mode) {
        case Mode::Idle:
            return run_idle();
        default:
            return run_load();
        }
    }

private:
    // -- sessions -----------------------------------------------------------
    Stats& stats_for(Role r) { return r == Role::Legit ? legit_ : main_; }

    bool outcome_mode(const Conn& c) const {
        return c.role == Role::Legit || opt_.mode == Mode::Smtp || opt_.mode == Mode::Slow;
    }
    const std::vector<Step>& script_for(const Conn& c) const { return c.role == Role::Legit ? legit_script_ : script_; }
    std::string step_name(const Conn& c) const {
        const auto& script = script_for(c);
        return script[std::min(c.step, script.size() - 1)].name;
    }

    // The session's one outcome from a reply of an unexpected class.
    void settle_code(Conn& c, int code) {
        if (c.settled) return;
        c.settled = true;
        Stats& st = stats_for(c.role);
        std::string key = std::to_string(code) + "@" + step_name(c);
        if (code >= 400 && code < 500) {
            ++st.temp[key];
            if (c.role == Role::Main && c.attempt < opt_.retry_4xx) {
                auto delay =
                    std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.retry_delay));
                retries_.push_back({Clock::now() + delay, c.src, c.attempt + 1});
                ++st.retried;
            } else {
                ++st.gave_up;
            }
        } else if (code >= 500 && code < 600) {
            ++st.perm[key];
        } else {
            ++st.unexpected[key];
        }
    }

    void settle_dropped(Conn& c, const std::string& kind) {
        if (c.settled || !outcome_mode(c)) return;
        c.settled = true;
        ++stats_for(c.role).dropped[kind + "@" + step_name(c)];
    }

    bool open_conn(Role role, std::optional<std::uint32_t> from = {}, int attempt = 0) {
        const Endpoint& target = role == Role::Legit ? *opt_.legit_target : *opt_.target;
        SourcePool& pool = role == Role::Legit ? legit_sources_ : sources_;
        Stats& st = stats_for(role);
        auto c = std::make_unique<Conn>();
        c->role = role;
        c->start = Clock::now();
        c->deadline =
            c->start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout));
        if (st.started == 0) st.first_start = c->start;
        ++st.started;
        if (attempt == 0) ++st.clients;
        c->attempt = attempt;
        c->src = from ? *from : pool.next();
        c->fd = Fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (c->fd.get() < 0 || (role == Role::Idle && c->fd.get() >= fd_reserve_)) {
            st.error(c->fd.get() >= 0 || errno == EMFILE || errno == ENFILE ? "fd_limit" : "socket");
            settle_dropped(*c, "local_fd_limit");
            return false;
        }
        int one = 1;
        setsockopt(c->fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        setsockopt(c->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Endpoint src{c->src, 0};
        sockaddr_in ssa = src.sockaddr();
        if (bind(c->fd.get(), reinterpret_cast<sockaddr*>(&ssa), sizeof ssa) < 0) {
            st.error("bind");
            settle_dropped(*c, "local_bind");
            return false;
        }
        sockaddr_in tsa = target.sockaddr();
        if (connect(c->fd.get(), reinterpret_cast<sockaddr*>(&tsa), sizeof tsa) < 0 && errno != EINPROGRESS) {
            std::string kind = errno == EADDRNOTAVAIL ? "no_port" : std::string("connect_") + strerrorname_np(errno);
            st.error(kind);
            settle_dropped(*c, "local_" + kind);
            return false;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        c->out_armed = true;
        if (role == Role::Main && opt_.mode == Mode::Pregreet) {
            // On loopback the handshake is often over when connect() returns:
            // then the greeting goes at once and no EPOLLOUT is needed.
            static constexpr std::string_view kPregreet = "EHLO pregreet.psm.test\r\n";
            if (::send(c->fd.get(), kPregreet.data(), kPregreet.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(kPregreet.size())) {
                c->connected = true;
                ev.events = EPOLLIN | EPOLLRDHUP;
                c->out_armed = false;
            } else {
                c->out = kPregreet; // after the connection completes
            }
        }
        ev.data.fd = c->fd.get();
        if (epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c->fd.get(), &ev) < 0) die("epoll_ctl add");
        int fd = c->fd.get();
        if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1024);
        conns_[static_cast<std::size_t>(fd)] = std::move(c);
        ++active_[static_cast<int>(role)];
        return true;
    }

    void finish(Conn& c, bool ok, std::string error_kind) {
        Stats& st = stats_for(c.role);
        if (!c.error_kind.empty()) error_kind = c.error_kind;
        settle_dropped(c, error_kind.empty() ? "closed" : error_kind);
        auto now = Clock::now();
        if (c.role == Role::Idle) {
            if (c.held)
                ++dropped_;
            else
                st.error(error_kind.empty() ? "closed" : error_kind);
        } else if (ok) {
            ++st.ok;
            st.last_done = now;
            st.latency_ms.push_back(std::chrono::duration<double, std::milli>(now - c.start).count());
        } else {
            st.error(error_kind);
        }
        if (c.held) --held_;
        --active_[static_cast<int>(c.role)];
        // Closing the socket takes it out of the epoll set.
        conns_[static_cast<std::size_t>(c.fd.get())].reset();
    }

    void want_write(Conn& c, bool on) {
        if (c.out_armed == on) return;
        c.out_armed = on;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
        ev.data.fd = c.fd.get();
        epoll_ctl(ep_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    }

    // Returns false when the connection was finished.
    bool flush(Conn& c) {
        while (!c.out.empty()) {
            ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN) {
                    want_write(c, true);
                    return true;
                }
                finish(c, c.got_final, "write");
                return false;
            }
            c.out.erase(0, static_cast<std::size_t>(n));
        }
        want_write(c, false);
        return true;
    }

    // Complete replies in c.in: returns the code of the next complete reply
    // (0 when none yet) and removes it from the buffer.
    static int take_reply(Conn& c) {
        std::size_t pos = 0;
        while (true) {
            auto nl = c.in.find('\n', pos);
            if (nl == std::string::npos) return 0;
            std::string_view line(c.in.data() + pos, nl - pos);
            pos = nl + 1;
            if (line.size() < 4 || line[3] == ' ' || line[3] == '\r') {
                int code = line.size() >= 3 ? std::atoi(std::string(line.substr(0, 3)).c_str()) : 0;
                c.in.erase(0, pos);
                return code > 0 ? code : -1;
            }
        }
    }

    // Returns false when the connection was finished.
    bool on_replies(Conn& c) {
        Stats& st = stats_for(c.role);
        if (c.role == Role::Idle) {
            if (!c.held && c.in.find('\n') != std::string::npos) {
                c.held = true;
                ++held_;
            }
            c.in.clear();
            return true;
        }
        const auto& script = script_for(c);
        bool is_smtp = outcome_mode(c);
        for (int code; (code = take_reply(c)) != 0;) {
            if (!is_smtp) {
                c.got_final = true;
                ++st.final_codes[code];
                if (code == 220 && !opt_.silent) c.out += "QUIT\r\n";
                continue;
            }
            if (c.quitting) { // the reply to our QUIT after a 4xx/5xx
                finish(c, false, "");
                return false;
            }
            if (code < 0 || std::to_string(code)[0] != script[c.step].expect) {
                ++st.final_codes[code];
                settle_code(c, code);
                c.error_kind = "reply_" + std::to_string(code) + "_at_step_" + std::to_string(c.step);
                if (code == 421 || script[c.step].name == "quit") {
                    finish(c, false, "");
                    return false;
                }
                // Leave politely, as a real client would; the outcome is counted.
                c.quitting = true;
                c.drip.clear();
                c.out += "QUIT\r\n";
                auto limit = Clock::now() + std::chrono::seconds(10);
                c.deadline = std::min(c.deadline, limit);
                break;
            }
            ++c.step;
            if (c.step == script.size()) {
                ++st.final_codes[code];
                finish(c, true, "");
                return false;
            }
            if (script[c.step].name == "quit" && !c.settled) {
                c.settled = true;
                ++st.passed;
            }
            if (opt_.mode == Mode::Slow && c.role == Role::Main && script[c.step].name != "quit") {
                c.drip = script[c.step].send;
                c.next_byte = Clock::now();
            } else {
                c.out += script[c.step].send;
            }
        }
        if (c.in.size() > kMaxReply) {
            finish(c, false, "reply_too_long");
            return false;
        }
        return flush(c);
    }

    void on_event(int fd, std::uint32_t events) {
        if (fd < 0 || static_cast<std::size_t>(fd) >= conns_.size() || !conns_[static_cast<std::size_t>(fd)]) return;
        Conn& c = *conns_[static_cast<std::size_t>(fd)];
        if (!c.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                finish(c, false, err == ECONNREFUSED ? "refused" : "connect");
                return;
            }
            c.connected = true;
            if (!flush(c)) return;
        } else if (events & EPOLLOUT) {
            if (!flush(c)) return;
        }
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            char buf[4096];
            while (true) {
                ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                if (n > 0) {
                    c.in.append(buf, static_cast<std::size_t>(n));
                    if (!on_replies(c)) return;
                    continue;
                }
                if (n == 0) {
                    // Pregreet/connect sessions end when the server closes
                    // after its final reply; anything else closed early.
                    finish(c, c.got_final, "closed");
                    return;
                }
                if (errno == EAGAIN) return;
                if (c.got_final) ++stats_for(c.role).resets_after_reply;
                finish(c, c.got_final, errno == ECONNRESET ? "reset" : "read");
                return;
            }
        }
    }

    void expire(Clock::time_point now) {
        for (auto& p : conns_) {
            if (!p) continue;
            Conn& c = *p;
            if (c.role == Role::Idle && c.held) continue;
            if (now > c.deadline) finish(c, false, c.connected ? "timeout" : "connect_timeout");
        }
    }

    void poll_once(int timeout_ms) {
        epoll_event evs[256];
        int n = epoll_wait(ep_.get(), evs, 256, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) return;
            die(std::string("epoll_wait: ") + std::strerror(errno));
        }
        for (int i = 0; i < n; ++i)
            on_event(evs[i].data.fd, evs[i].events);
        auto now = Clock::now();
        if (opt_.mode == Mode::Slow) drip(now);
        if (now - last_sweep_ > std::chrono::milliseconds(100)) {
            expire(now);
            last_sweep_ = now;
        }
    }

    // slow: the next byte of each dribbling session whose interval is over.
    void drip(Clock::time_point now) {
        auto step = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.interval));
        for (auto& p : conns_) {
            if (!p || !p->connected || p->drip.empty() || now < p->next_byte) continue;
            Conn& c = *p;
            c.out.push_back(c.drip.front());
            c.drip.erase(0, 1);
            c.next_byte = now + step;
            flush(c); // may finish (and free) c
        }
    }

    int active(Role r) const { return active_[static_cast<int>(r)]; }

    // -- pregreet / connect / smtp --------------------------------------------
    int run_load() {
        auto t0 = Clock::now();
        while (true) {
            const double elapsed = seconds_since(t0);
            bool time_left = elapsed < opt_.duration;
            const int allowed = elapsed >= opt_.ramp
                                    ? opt_.concurrency
                                    : std::max(1, static_cast<int>(opt_.concurrency * elapsed / opt_.ramp));
            while (time_left && main_.started < opt_.count && active(Role::Main) < allowed) {
                if (!retries_.empty() && retries_.front().at <= Clock::now()) {
                    Retry r = retries_.front();
                    retries_.pop_front();
                    open_conn(Role::Main, r.src, r.attempt);
                } else {
                    open_conn(Role::Main);
                }
            }
            if (active(Role::Main) == 0 && (!time_left || main_.started >= opt_.count)) break;
            // In-flight sessions get their own --timeout after the duration.
            if (seconds_since(t0) > opt_.duration + opt_.timeout + 1) break;
            poll_once(seconds_since(t0) < opt_.ramp ? 1 : 20);
        }
        // Whatever is still in flight ends here, counted as such.
        for (auto& p : conns_)
            if (p) finish(*p, false, "unfinished");
        std::string out = main_.summary("");
        if (opt_.mode == Mode::Smtp || opt_.mode == Mode::Slow)
            out += " " + main_.outcomes(static_cast<long>(retries_.size()));
        std::printf("RESULT mode=%s elapsed=%.2f %s\n", mode_name(), seconds_since(t0), out.c_str());
        return 0;
    }

    // -- idle -------------------------------------------------------------------
    int run_idle() {
        auto t0 = Clock::now();
        // Open the horde, at most --concurrency connects in flight; stop
        // early when the fd limit is near (legit clients need a few).
        bool fd_exhausted = false;
        while (seconds_since(t0) < opt_.open_timeout) {
            while (!fd_exhausted && main_.started < opt_.count && active(Role::Idle) - held_ < opt_.concurrency) {
                if (!open_conn(Role::Idle)) {
                    fd_exhausted = main_.error_kinds.count("fd_limit") > 0;
                    break;
                }
            }
            if ((main_.started >= opt_.count || fd_exhausted) && active(Role::Idle) == held_) break;
            poll_once(20);
        }
        double open_s = seconds_since(t0);
        long held_start = held_;
        std::printf("HELD %ld\n", held_start);
        std::fflush(stdout);
        // Hold them; legit sessions meanwhile.
        auto t1 = Clock::now();
        long legit_started = 0;
        while (seconds_since(t1) < opt_.duration) {
            while (opt_.legit_target && active(Role::Legit) < opt_.legit_concurrency &&
                   legit_started < opt_.legit_count) {
                ++legit_started;
                open_conn(Role::Legit);
            }
            poll_once(20);
        }
        while (active(Role::Legit) > 0 && seconds_since(t1) < opt_.duration + opt_.timeout + 1)
            poll_once(20);
        long held_end = held_;
        std::printf("RESULT mode=idle wanted=%ld open_s=%.2f held=%ld held_end=%ld dropped=%ld open_errors=%ld %s",
                    opt_.count, open_s, held_start, held_end, dropped_, main_.errors, error_kinds(main_).c_str());
        if (opt_.legit_target) std::printf(" %s", legit_.summary("legit_").c_str());
        std::printf("\n");
        std::fflush(stdout);
        // The horde stays a moment longer: the bench reads the servers' CPU
        // for the hold on this line, before the horde's hangups cost theirs.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return 0;
    }

    static std::string error_kinds(const Stats& st) {
        std::string kinds;
        for (auto& [k, n] : st.error_kinds)
            kinds += (kinds.empty() ? "" : ",") + k + ":" + std::to_string(n);
        return "open_error_kinds=" + (kinds.empty() ? std::string("none") : kinds);
    }

    const char* mode_name() const {
        switch (opt_.mode) {
        case Mode::Pregreet:
            return "pregreet";
        case Mode::Connect:
            return "connect";
        case Mode::Smtp:
            return "smtp";
        case Mode::Idle:
            return "idle";
        case Mode::Slow:
            return "slow";
        }
        return "?";
    }

    Options opt_;
    Fd ep_;
    SourcePool sources_;
    SourcePool legit_sources_;
    std::vector<Step> script_;
    std::vector<Step> legit_script_;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::deque<Retry> retries_;
    int active_[3] = {0, 0, 0};
    long held_ = 0;
    int fd_reserve_ = 1 << 30; // idle connections stop below this fd
    long dropped_ = 0;
    Stats main_;
    Stats legit_;
    Clock::time_point last_sweep_ = Clock::now();
};

// -- the ceiling server ------------------------------------------------------

int serve(const Options& opt) {
    Fd lfd = bench::listen_tcp(*opt.serve);
    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd.get();
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, lfd.get(), &ev);
    static constexpr char kReply[] = "521 5.5.1 Protocol error\r\n";
    auto t0 = Clock::now();
    long served = 0;
    std::printf("LISTENING\n");
    std::fflush(stdout);
    while (seconds_since(t0) < opt.duration && served < opt.count) {
        epoll_event evs[8];
        int n = epoll_wait(ep.get(), evs, 8, 100);
        for (int i = 0; i < n; ++i) {
            for (int k = 0; k < 1024 && served < opt.count; ++k) {
                Fd c(accept4(lfd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (c.get() < 0) break;
                ++served;
                (void)!::send(c.get(), kReply, sizeof kReply - 1, MSG_NOSIGNAL);
                char drain[512];
                (void)!::recv(c.get(), drain, sizeof drain, 0);
            }
        }
    }
    std::printf("RESULT mode=serve served=%ld elapsed=%.2f\n", served, seconds_since(t0));
    return 0;
}

[[noreturn]] void usage() {
    std::fputs("usage: psm-loadgen --mode pregreet|connect|smtp|slow|idle --target ADDR:PORT --sources FIRST[+COUNT]\n"
               "         [--count N] [--duration S] [--concurrency C] [--ramp S] [--timeout S]\n"
               "         [--until ehlo|rcpt|data]\n"
               "         smtp, slow: [--retry-4xx N] [--retry-delay S]; slow: [--interval S]; connect: [--silent]\n"
               "         idle: [--legit-target ADDR:PORT --legit-sources FIRST[+COUNT] --legit-concurrency C\n"
               "                --legit-until ehlo|rcpt|data --legit-count N] [--open-timeout S]\n"
               "       psm-loadgen --serve ADDR:PORT [--duration S] [--count N]\n"
               "Only 127.0.0.0/8 addresses are accepted.\n",
               stderr);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        auto number = [&]() -> double {
            std::string v = value();
            char* end = nullptr;
            double d = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || d < 0) die("bad number for " + a + ": " + v);
            return d;
        };
        if (a == "--mode") {
            std::string m = value();
            if (m == "pregreet")
                o.mode = Mode::Pregreet;
            else if (m == "connect")
                o.mode = Mode::Connect;
            else if (m == "smtp")
                o.mode = Mode::Smtp;
            else if (m == "idle")
                o.mode = Mode::Idle;
            else if (m == "slow")
                o.mode = Mode::Slow;
            else
                die("unknown mode " + m);
        } else if (a == "--target")
            o.target = parse_endpoint(value(), "target");
        else if (a == "--serve")
            o.serve = parse_endpoint(value(), "serve");
        else if (a == "--sources")
            o.sources = value();
        else if (a == "--count")
            o.count = static_cast<long>(number());
        else if (a == "--duration")
            o.duration = number();
        else if (a == "--concurrency")
            o.concurrency = static_cast<int>(number());
        else if (a == "--ramp")
            o.ramp = number();
        else if (a == "--timeout")
            o.timeout = number();
        else if (a == "--until")
            o.until = value();
        else if (a == "--legit-target")
            o.legit_target = parse_endpoint(value(), "legit target");
        else if (a == "--legit-sources")
            o.legit_sources = value();
        else if (a == "--legit-concurrency")
            o.legit_concurrency = static_cast<int>(number());
        else if (a == "--legit-until")
            o.legit_until = value();
        else if (a == "--legit-count")
            o.legit_count = static_cast<long>(number());
        else if (a == "--open-timeout")
            o.open_timeout = number();
        else if (a == "--interval")
            o.interval = number();
        else if (a == "--retry-4xx")
            o.retry_4xx = static_cast<int>(number());
        else if (a == "--retry-delay")
            o.retry_delay = number();
        else if (a == "--silent")
            o.silent = true;
        else
            usage();
    }
    for (const auto* u : {&o.until, &o.legit_until})
        if (*u != "ehlo" && *u != "rcpt" && *u != "data") die("--until wants ehlo, rcpt or data");
    if (o.count < 0) o.count = o.serve ? kMaxCount : 1000;
    o.count = std::clamp(o.count, 1L, kMaxCount);
    o.duration = std::clamp(o.duration, 0.1, kMaxDuration);
    o.open_timeout = std::clamp(o.open_timeout, 0.1, kMaxDuration);
    o.timeout = std::clamp(o.timeout, 0.1, 600.0);
    o.ramp = std::clamp(o.ramp, 0.0, o.duration);
    o.concurrency = std::clamp(o.concurrency, 1, kMaxConcurrency);
    o.legit_concurrency = std::clamp(o.legit_concurrency, 1, 1000);
    o.legit_count = std::clamp(o.legit_count, 1L, kMaxCount);
    o.interval = std::clamp(o.interval, 0.001, 60.0);
    o.retry_4xx = std::clamp(o.retry_4xx, 0, 10);
    o.retry_delay = std::clamp(o.retry_delay, 0.0, 600.0);
    if (!o.serve) {
        if (!o.target || o.sources.empty()) usage();
        if (o.legit_target && o.legit_sources.empty()) die("--legit-target needs --legit-sources");
    }
    return o;
}

} // namespace
} // namespace psm

int main(int argc, char** argv) {
    psm::bench::program_name = "psm-loadgen";
    signal(SIGPIPE, SIG_IGN);
    psm::bench::raise_fd_limit();
    psm::Options opt = psm::parse(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (opt.serve) return psm::serve(opt);
    return psm::Generator(std::move(opt)).run();
}
