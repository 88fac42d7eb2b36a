// Tests for the daemon skeleton: stock's child command line, status-message bytes, the in-process host.
#include "psm/global/daemon.hpp"
#include "psm/util/error.hpp"
#include "psm/util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <array>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

using Args = std::vector<std::string>;
using psm::parse_daemon_options;

namespace {

std::string parse_error(const Args& argv) {
    try {
        parse_daemon_options(argv);
    } catch (const psm::ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("master's argv for stock services parses as stock", "[daemon_options]") {
    // Observed: postscreen -l -n 127.0.0.1:41025 -t inet -u -o ... -o ...
    auto o = parse_daemon_options({"/usr/lib/psmaster/postscreen", "-l", "-n", "127.0.0.1:41025", "-t", "inet", "-u",
                                   "-o", "postscreen_greet_banner = $myhostname ESMTP test", "-o",
                                   "postscreen_dnsbl_action=ignore"});
    CHECK(o.program == "postscreen");
    CHECK(o.service_name == "127.0.0.1:41025");
    CHECK(o.transport == "inet");
    CHECK(o.limit_one);
    CHECK_FALSE(o.limit_zero);
    CHECK(o.unprivileged);
    CHECK_FALSE(o.chroot);
    using S = std::vector<std::pair<std::string, std::string>>;
    CHECK(o.settings ==
          S{{"postscreen_greet_banner", "$myhostname ESMTP test"}, {"postscreen_dnsbl_action", "ignore"}});
    CHECK(o.args.empty());

    o = parse_daemon_options({"dnsblog", "-z", "-t", "unix", "-u", "-c"});
    CHECK(o.service_name == "dnsblog");
    CHECK(o.limit_zero);
    CHECK(o.chroot);
    CHECK(o.socket_count == 1);

    // pass service with a stress override and several sockets.
    o = parse_daemon_options({"smtpd", "-n", "smtpd", "-t", "pass", "-u", "-o", "stress=", "-s", "2"});
    CHECK(o.transport == "pass");
    CHECK(o.settings == S{{"stress", ""}});
    CHECK(o.socket_count == 2);
}

TEST_CASE("clustering, -v counting, -i/-m/-o order, operands", "[daemon_options]") {
    auto o = parse_daemon_options({"x", "-vvzdt", "unix", "-i", "5", "-oa=1", "-m7", "-o", "max_idle = 9", "-VSD", "-r",
                                   "60", "-L", "inet:127.0.0.1:1", "-L", "unix:/tmp/s", "extra", "-v"});
    CHECK(o.verbose == 2);
    CHECK(o.limit_zero);
    CHECK(o.no_detach);
    CHECK(o.transport == "unix");
    CHECK(o.log_stderr);
    CHECK(o.stand_alone);
    CHECK(o.debug);
    CHECK(o.retire == 60);
    using S = std::vector<std::pair<std::string, std::string>>;
    CHECK(o.settings == S{{"max_idle", "5"}, {"a", "1"}, {"max_use", "7"}, {"max_idle", "9"}});
    CHECK(o.listen == Args{"inet:127.0.0.1:1", "unix:/tmp/s"});
    CHECK(o.args == Args{"extra", "-v"}); // options end at the first operand ('+' in getopt)
    CHECK(parse_daemon_options({"x", "--", "-z"}).args == Args{"-z"});
}

TEST_CASE("command-line errors use stock's fatal texts", "[daemon_options]") {
    CHECK(parse_error({"dnsblog", "-x"}) == "invalid option: x");
    CHECK(parse_error({"dnsblog", "-zx"}) == "invalid option: x");
    CHECK(parse_error({"dnsblog", "-z", "-t", "unix", "-n"}) == "invalid option: n");
    CHECK(parse_error({"dnsblog", "-o", "foo"}) == "invalid \"-o foo\" option value: missing '=' after attribute name");
    CHECK(parse_error({"dnsblog", "-o", "=x"}) == "invalid \"-o =x\" option value: missing attribute name");
    CHECK(parse_error({"dnsblog", "-s", "0"}) == "invalid socket_count: 0");
    CHECK(parse_error({"dnsblog", "-s", "x"}) == "invalid socket_count: x");
    CHECK(parse_error({"dnsblog", "-r", "-5"}) == "invalid retirement time: -5");
}

TEST_CASE("status message bytes and GENERATION", "[daemon_options]") {
    // Observed: write(5, "\xfc\x1d\0\0\1\0\0\0\1\0\0\0", 12) = pid 7676, gen 1, AVAIL.
    auto m = psm::master_status_message(7676, 1, psm::MasterStatus::avail);
    CHECK(std::string(m.data(), m.size()) == std::string("\xfc\x1d\0\0\1\0\0\0\1\0\0\0", 12));
    m = psm::master_status_message(7676, 1, psm::MasterStatus::taken);
    CHECK(std::string(m.data() + 8, 4) == std::string(4, '\0'));
    CHECK(psm::parse_generation("5") == 5u);
    CHECK(psm::parse_generation("17") == 15u); // octal
    CHECK_FALSE(psm::parse_generation("1x"));
    CHECK_FALSE(psm::parse_generation("-1"));
}

namespace {

// An echo-less daemon that records what it was given.
class Recorder : public psm::Daemon {
public:
    std::vector<psm::Connection> connections;
    bool drained = false;
    bool keep_draining = false;
    void accept(psm::Connection c) override { connections.push_back(std::move(c)); }
    bool drain() override {
        drained = true;
        return keep_draining;
    }
};

std::string read_exact(int fd, std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, out.data() + got, n - got);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

struct Harness {
    boost::asio::io_context io;
    psm::UniqueFd master_end;
    std::string sock_path;
    std::unique_ptr<psm::DaemonHost> host;
    Recorder daemon;

    explicit Harness(psm::DaemonSpec spec, unsigned generation = 3) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        master_end.reset(sv[0]);
        host = std::make_unique<psm::DaemonHost>(io, psm::Config(), spec);
        host->attach_status_channel(sv[1], generation);
        // A listening UNIX socket standing in for fd 6.
        sock_path = std::filesystem::temp_directory_path() / ("psm-daemon-test-" + std::to_string(::getpid()));
        ::unlink(sock_path.c_str());
        int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strncpy(sun.sun_path, sock_path.c_str(), sizeof(sun.sun_path) - 1);
        REQUIRE(::bind(lfd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0);
        REQUIRE(::listen(lfd, 128) == 0);
        host->add_listener(lfd, "unix");
        host->start(daemon);
    }
    ~Harness() { ::unlink(sock_path.c_str()); }

    psm::UniqueFd connect() {
        psm::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strncpy(sun.sun_path, sock_path.c_str(), sizeof(sun.sun_path) - 1);
        REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0);
        return fd;
    }

    void run_until(const std::function<bool()>& done) {
        for (int i = 0; i < 200 && !done(); ++i)
            io.run_for(std::chrono::milliseconds(10));
    }
};

std::string status(psm::MasterStatus s, unsigned gen = 3) {
    auto m = psm::master_status_message(::getpid(), gen, s);
    return std::string(m.data(), m.size());
}

} // namespace

TEST_CASE("event server: TAKEN then AVAIL around each connection on fd 5", "[daemon_options]") {
    Harness h(psm::DaemonSpec{});
    auto client = h.connect();
    h.run_until([&] { return h.daemon.connections.size() == 1; });
    REQUIRE(h.daemon.connections.size() == 1);
    CHECK(read_exact(h.master_end.get(), 24) == status(psm::MasterStatus::taken) + status(psm::MasterStatus::avail));
    CHECK(h.host->active_clients() == 1);
    // A second client while the first is still connected: the event server
    // keeps accepting, and reports this one too.
    auto client2 = h.connect();
    h.run_until([&] { return h.daemon.connections.size() == 2; });
    CHECK(h.daemon.connections.size() == 2);
    CHECK(read_exact(h.master_end.get(), 24) == status(psm::MasterStatus::taken) + status(psm::MasterStatus::avail));
    h.daemon.connections.clear(); // sessions end: slots released
    CHECK(h.host->active_clients() == 0);
    CHECK(h.host->use_count() == 2);
}

TEST_CASE("accepted: a non-blocking descriptor with the peer's address, an Asio socket on demand", "[daemon_options]") {
    Harness h(psm::DaemonSpec{});
    auto client = h.connect();
    h.run_until([&] { return h.daemon.connections.size() == 1; });
    REQUIRE(h.daemon.connections.size() == 1);
    psm::Connection& c = h.daemon.connections[0];
    REQUIRE(c.fd);
    CHECK((::fcntl(c.fd.get(), F_GETFL) & O_NONBLOCK) != 0); // stays so when passed on, as stock's
    CHECK((::fcntl(c.fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(c.peer_length > 0);
    CHECK(c.peer.ss_family == AF_UNIX);

    auto socket = c.take_socket(h.io);
    REQUIRE(socket.is_open());
    CHECK_FALSE(c.fd);
    REQUIRE(::write(client.get(), "ping", 4) == 4);
    std::array<char, 8> buf{};
    std::size_t got = 0;
    socket.async_read_some(boost::asio::buffer(buf), [&](boost::system::error_code ec, std::size_t n) {
        if (!ec) got = n;
    });
    h.run_until([&] { return got > 0; });
    CHECK(std::string(buf.data(), got) == "ping");

    // Nothing to take twice.
    auto again = c.take_socket(h.io);
    CHECK_FALSE(again.is_open());
}

TEST_CASE("a TCP listener bound to one address gives each connection that local address, a wildcard one not",
          "[daemon_options]") {
    boost::asio::io_context io;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    psm::UniqueFd master_end(sv[0]);
    psm::DaemonHost host(io, psm::Config(), psm::DaemonSpec{});
    host.attach_status_channel(sv[1], 3);
    // Returns the port of a new listener on address:0, or 0 if IP_TRANSPARENT
    // was wanted and is not allowed here.
    auto listen_on = [&](in_addr_t address, bool transparent) -> std::uint16_t {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        const int on = 1;
        if (transparent && ::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof(on)) < 0) {
            ::close(fd);
            return 0;
        }
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = address;
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
        REQUIRE(::listen(fd, 16) == 0);
        socklen_t len = sizeof(sin);
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
        host.add_listener(fd, "inet");
        return ntohs(sin.sin_port);
    };
    const in_addr_t loopback = htonl(INADDR_LOOPBACK);
    const std::uint16_t fixed = listen_on(loopback, false);
    const std::uint16_t wildcard = listen_on(htonl(INADDR_ANY), false);
    const std::uint16_t transparent = listen_on(loopback, true); // 0 without CAP_NET_ADMIN
    Recorder daemon;
    host.start(daemon);

    std::vector<psm::UniqueFd> clients;
    for (std::uint16_t port : {fixed, wildcard, transparent}) {
        if (port == 0) continue;
        psm::UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = loopback;
        to.sin_port = htons(port);
        REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
        clients.push_back(std::move(fd));
    }
    for (int i = 0; i < 200 && daemon.connections.size() < clients.size(); ++i)
        io.run_for(std::chrono::milliseconds(10));
    REQUIRE(daemon.connections.size() == clients.size());
    for (const psm::Connection& c : daemon.connections) {
        sockaddr_in own{};
        socklen_t len = sizeof(own);
        REQUIRE(::getsockname(c.fd.get(), reinterpret_cast<sockaddr*>(&own), &len) == 0);
        const std::uint16_t port = ntohs(own.sin_port);
        if (port == fixed) {
            REQUIRE(c.local_length == sizeof(sockaddr_in));
            const auto& local = reinterpret_cast<const sockaddr_in&>(c.local);
            CHECK(local.sin_family == AF_INET);
            CHECK(local.sin_addr.s_addr == own.sin_addr.s_addr);
            CHECK(local.sin_port == own.sin_port);
        } else {
            CHECK(c.local_length == 0); // the wildcard, or IP_TRANSPARENT: ask each socket
        }
    }
}

TEST_CASE("a crowd of queued clients is accepted in batches, every one of them", "[daemon_options]") {
    Harness h(psm::DaemonSpec{});
    std::vector<psm::UniqueFd> clients;
    for (int i = 0; i < 100; ++i) // queued before the loop runs: more than one batch
        clients.push_back(h.connect());
    h.run_until([&] { return h.daemon.connections.size() == clients.size(); });
    CHECK(h.daemon.connections.size() == 100);
    CHECK(h.host->active_clients() == 100);
}

TEST_CASE("event server limited to one process: the first connection, then at most one a second, reported",
          "[daemon_options]") {
    psm::DaemonSpec spec;
    spec.process_limit = psm::DaemonSpec::Limit::one;
    Harness h(spec);
    auto pending = [&] {
        pollfd p{h.master_end.get(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    };
    const auto pair = status(psm::MasterStatus::taken) + status(psm::MasterStatus::avail);
    auto first = h.connect();
    h.run_until([&] { return h.daemon.connections.size() == 1; });
    // The first one makes the process "used" in master's eyes.
    CHECK(read_exact(h.master_end.get(), 24) == pair);
    std::vector<psm::UniqueFd> more;
    for (std::size_t n = 2; n <= 5; ++n) {
        more.push_back(h.connect());
        h.run_until([&] { return h.daemon.connections.size() == n; });
    }
    REQUIRE(h.daemon.connections.size() == 5);
    CHECK_FALSE(pending()); // a storm does not wake master once per connection
    h.daemon.connections.clear();
    CHECK(h.host->use_count() == 5); // the skeleton's own count still sees them all
    h.io.run_for(std::chrono::milliseconds(1100));
    auto later = h.connect();
    h.run_until([&] { return h.daemon.connections.size() == 1; });
    CHECK(read_exact(h.master_end.get(), 24) == pair);
}

TEST_CASE("single server: TAKEN after accept, AVAIL after the session", "[daemon_options]") {
    psm::DaemonSpec spec;
    spec.kind = psm::DaemonSpec::Kind::single;
    Harness h(spec, 017);
    auto client = h.connect();
    auto client2 = h.connect();
    h.run_until([&] { return h.daemon.connections.size() == 1; });
    h.io.run_for(std::chrono::milliseconds(50));
    CHECK(h.daemon.connections.size() == 1); // busy: the second client waits
    CHECK(read_exact(h.master_end.get(), 12) == status(psm::MasterStatus::taken, 017));
    h.daemon.connections.clear();
    CHECK(read_exact(h.master_end.get(), 12) == status(psm::MasterStatus::avail, 017));
    h.run_until([&] { return h.daemon.connections.size() == 1; });
    CHECK(h.daemon.connections.size() == 1); // now the second one
}

TEST_CASE("EOF on the status channel: drain or exit", "[daemon_options]") {
    SECTION("event server without drain exits at once") {
        Harness h(psm::DaemonSpec{});
        auto client = h.connect();
        h.run_until([&] { return h.daemon.connections.size() == 1; });
        h.master_end.reset(); // master gone
        h.run_until([&] { return h.io.stopped(); });
        CHECK(h.io.stopped());
        CHECK(h.daemon.drained);
        CHECK(h.host->exit_status() == 0);
    }
    SECTION("a draining daemon stops when its last client leaves") {
        Harness h(psm::DaemonSpec{});
        h.daemon.keep_draining = true;
        auto client = h.connect();
        h.run_until([&] { return h.daemon.connections.size() == 1; });
        // The session has work pending, as a real one would.
        auto socket = h.daemon.connections[0].take_socket(h.io);
        socket.async_wait(psm::Connection::Socket::wait_read, [](auto) {});
        h.master_end.reset();
        h.run_until([&] { return h.daemon.drained; });
        CHECK_FALSE(h.io.stopped());
        h.daemon.connections.clear();
        h.run_until([&] { return h.io.stopped(); });
        CHECK(h.io.stopped());
    }
}

TEST_CASE("max_use: an event server exits after max_use sessions once idle", "[daemon_options]") {
    boost::asio::io_context io;
    psm::Config config;
    config.set_override("max_use", "2");
    psm::DaemonHost host(io, config, psm::DaemonSpec{});
    Recorder daemon;
    host.start(daemon);
    boost::asio::local::stream_protocol::socket a(io), b(io), c(io), d(io);
    boost::asio::local::connect_pair(a, b);
    boost::asio::local::connect_pair(c, d);
    { auto conn = host.make_connection(a.release()); }
    CHECK_FALSE(io.stopped());
    { auto conn = host.make_connection(c.release()); }
    CHECK(io.stopped());

    // unlimited_use ignores max_use (dnsblog).
    boost::asio::io_context io2;
    psm::DaemonSpec spec;
    spec.unlimited_use = true;
    psm::DaemonHost host2(io2, config, spec);
    host2.start(daemon);
    for (int i = 0; i < 3; ++i) {
        boost::asio::local::stream_protocol::socket x(io2), y(io2);
        boost::asio::local::connect_pair(x, y);
        auto conn = host2.make_connection(x.release());
    }
    CHECK_FALSE(io2.stopped());
    CHECK(host2.use_count() == 3);
}
