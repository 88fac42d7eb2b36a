// Helpers for the core's in-process tests: a postscreen Server on the
// skeleton's DaemonHost, real loopback TCP clients from chosen 127.x source
// addresses, a fake smtpd "pass" service and a fake dnsblog in a temporary
// queue directory (the process's cwd while the fixture lives), and the log.
#pragma once

#include "server.hpp"

#include "support/log_capture.hpp"

#include "psm/global/attr.hpp"
#include "psm/global/daemon.hpp"
#include "psm/global/dnsblog_protocol.hpp"
#include "psm/util/fd_passing.hpp"
#include "psm/util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace psm::test {

using namespace std::chrono_literals;

inline int unix_listener(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, path.c_str(), sizeof(sun.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0);
    REQUIRE(::listen(fd, 64) == 0);
    return fd;
}

// One SMTP client socket (non-blocking; reads drive the server's loop).
struct TestClient {
    UniqueFd fd;
    std::string source;
    int port = 0;
    std::string received;
    bool closed = false;

    std::string addr_port() const { return "[" + source + "]:" + std::to_string(port); }
    void send(std::string_view bytes) {
        REQUIRE(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    }
    // Takes what has arrived; true when something new came or the peer closed.
    bool poll() {
        char buf[4096];
        for (;;) {
            ssize_t n = ::recv(fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                received.append(buf, n);
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
            return false;
        }
    }
};

struct ServerFixture {
    LogCapture log;
    std::string dir;
    std::string old_cwd;
    boost::asio::io_context io;
    Config config;
    std::unique_ptr<DaemonHost> host;
    std::unique_ptr<postscreen::Server> server;
    UniqueFd listener;       // the "postscreen port"
    UniqueFd smtpd_listener; // private/smtpd
    UniqueFd dnsblog_listener;
    std::vector<UniqueFd> dnsblog_conns;
    AttrDecoder dnsblog_decoder;

    explicit ServerFixture(std::initializer_list<std::pair<std::string, std::string>> params = {},
                           bool with_smtpd = true) {
        char tmpl[] = "/tmp/psm-pscore-XXXXXX";
        dir = ::mkdtemp(tmpl);
        REQUIRE(::mkdir((dir + "/private").c_str(), 0755) == 0);
        char cwd[4096];
        old_cwd = ::getcwd(cwd, sizeof(cwd));
        REQUIRE(::chdir(dir.c_str()) == 0);
        config.set_override("queue_directory", dir);
        config.set_override("myhostname", "mx.test.example");
        config.set_override("compatibility_level", "3.6");
        config.set_override("inet_protocols", "ipv4");
        config.set_override("mynetworks", "127.0.0.1/32");
        config.set_override("postscreen_cache_map", "");
        config.set_override("postscreen_greet_wait", "1s");
        for (const auto& [n, v] : params)
            config.set_override(n, v);
        if (with_smtpd) smtpd_listener = UniqueFd(unix_listener("private/smtpd"));
        dnsblog_listener = UniqueFd(unix_listener("private/dnsblog"));
        host = std::make_unique<DaemonHost>(io, config, DaemonSpec{});
        server = std::make_unique<postscreen::Server>(*host);

        listener = UniqueFd(::socket(AF_INET, SOCK_STREAM, 0));
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
        REQUIRE(::listen(listener.get(), 128) == 0);
    }
    ~ServerFixture() {
        server.reset();
        host.reset();
        (void)::chdir(old_cwd.c_str());
        (void)std::system(("rm -rf " + dir).c_str());
    }
    ServerFixture(const ServerFixture&) = delete;
    ServerFixture& operator=(const ServerFixture&) = delete;

    int listen_port() const {
        sockaddr_in sin{};
        socklen_t len = sizeof(sin);
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&sin), &len);
        return ntohs(sin.sin_port);
    }

    // Connects from `source` and hands the accepted socket to the server.
    TestClient connect(const std::string& source) {
        TestClient c;
        c.source = source;
        c.fd = UniqueFd(::socket(AF_INET, SOCK_STREAM, 0));
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &sin.sin_addr);
        REQUIRE(::bind(c.fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin.sin_port = htons(static_cast<std::uint16_t>(listen_port()));
        REQUIRE(::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
        socklen_t len = sizeof(sin);
        ::getsockname(c.fd.get(), reinterpret_cast<sockaddr*>(&sin), &len);
        c.port = ntohs(sin.sin_port);
        int accepted = ::accept(listener.get(), nullptr, nullptr);
        REQUIRE(accepted >= 0);
        server->accept(host->make_connection(accepted));
        return c;
    }

    void run(std::chrono::milliseconds t) { io.run_for(t); }

    // Runs the loop until pred() holds (checked every 5 ms), at most `limit`.
    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 3000ms) {
        auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (pred()) return true;
            io.run_for(5ms);
        }
        return pred();
    }

    // Reads until the client has `text` (or closed, or the time is up).
    std::string read_until(TestClient& c, std::string_view text, std::chrono::milliseconds limit = 3000ms) {
        run_until(
            [&] {
                c.poll();
                return c.received.find(text) != std::string::npos || c.closed;
            },
            limit);
        return c.received;
    }
    bool wait_closed(TestClient& c, std::chrono::milliseconds limit = 3000ms) {
        return run_until(
            [&] {
                c.poll();
                return c.closed;
            },
            limit);
    }

    // The log lines (without prefix) that match a regex.
    std::vector<std::string> lines_matching(const std::string& re) const {
        std::vector<std::string> out;
        std::regex rx(re);
        for (const auto& l : log.lines())
            if (std::regex_search(l, rx)) out.push_back(l);
        return out;
    }
    bool wait_log(const std::string& re, std::chrono::milliseconds limit = 3000ms) {
        return run_until([&] { return !lines_matching(re).empty(); }, limit);
    }

    // ---- fake smtpd: takes one passed connection
    struct Passed {
        UniqueFd client;  // the client's socket, as smtpd gets it
        UniqueFd channel; // close it to acknowledge
        std::string attributes;
    };
    std::optional<Passed> take_handoff(std::chrono::milliseconds limit = 3000ms) {
        Passed p;
        bool ok = run_until(
            [&] {
                if (!p.channel) p.channel = UniqueFd(::accept(smtpd_listener.get(), nullptr, nullptr));
                return static_cast<bool>(p.channel);
            },
            limit);
        if (!ok) return std::nullopt;
        int flags = ::fcntl(p.channel.get(), F_GETFL);
        ::fcntl(p.channel.get(), F_SETFL, flags & ~O_NONBLOCK);
        REQUIRE(recv_fd(p.channel.get(), p.client) == 0);
        char buf[512];
        ssize_t n = ::recv(p.channel.get(), buf, sizeof(buf), 0);
        REQUIRE(n > 0);
        p.attributes.assign(buf, n);
        return p;
    }

    // ---- fake dnsblog
    std::optional<dnsblog::ScoreRequest> dnsblog_request(std::chrono::milliseconds limit = 3000ms) {
        std::optional<dnsblog::ScoreRequest> req;
        run_until(
            [&] {
                int c = ::accept4(dnsblog_listener.get(), nullptr, nullptr, SOCK_NONBLOCK);
                if (c >= 0) dnsblog_conns.emplace_back(c);
                if (dnsblog_conns.empty()) return false;
                char buf[4096];
                ssize_t n = ::recv(dnsblog_conns.back().get(), buf, sizeof(buf), MSG_PEEK);
                if (n <= 0) return false;
                std::size_t used = dnsblog_decoder.feed(std::string_view(buf, n));
                (void)::recv(dnsblog_conns.back().get(), buf, used, 0);
                if (dnsblog_decoder.status() != AttrDecoder::Status::complete) return false;
                req = dnsblog::decode_request(dnsblog_decoder.take());
                return true;
            },
            limit);
        return req;
    }
    void dnsblog_reply(const dnsblog::ScoreRequest& req, int score, int ttl, const std::string& name) {
        dnsblog::ScoreReply r;
        r.label = req.label;
        r.client_address = req.client_address;
        r.score = score;
        r.ttl = ttl;
        r.dnsbl_name = name;
        std::string bytes = attr_encode(dnsblog::encode_reply(r));
        REQUIRE(::send(dnsblog_conns.back().get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(bytes.size()));
    }
};

} // namespace psm::test
