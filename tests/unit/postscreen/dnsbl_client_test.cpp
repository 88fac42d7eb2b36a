// DnsblClient: weighted requests to a fake dnsblog, shared per-IP lookups,
// partial scores, failures.
#include "dnsbl_client.hpp"

#include "support/log_capture.hpp"

#include "psm/global/dnsblog_protocol.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace psm::postscreen;
using namespace std::chrono_literals;
namespace dnsblog = psm::dnsblog;

namespace {

psm::Config test_config() {
    psm::Config c;
    c.set_override("myhostname", "mx.test.example");
    c.set_override("inet_protocols", "ipv4");
    c.set_override("mynetworks", "127.0.0.1/32");
    c.set_override("postscreen_dnsbl_sites", "bl.example*2, wl.example*-1");
    c.set_override("postscreen_dnsbl_timeout", "1s");
    return c;
}

// A dnsblog stand-in on a UNIX socket: accepts one connection, collects
// requests, answers what the test says.
struct FakeDnsblog {
    std::string dir, path;
    int listen_fd = -1, conn = -1;
    psm::AttrDecoder decoder;

    FakeDnsblog() {
        char tmpl[] = "/tmp/psm-dnsblog-XXXXXX";
        dir = ::mkdtemp(tmpl);
        path = dir + "/dnsblog";
        listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strcpy(sun.sun_path, path.c_str());
        REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0);
        REQUIRE(::listen(listen_fd, 5) == 0);
    }
    ~FakeDnsblog() {
        if (conn >= 0) ::close(conn);
        ::close(listen_fd);
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }
    void hang_up() {
        ::close(conn);
        conn = -1;
    }
    // Runs the loop until a request arrives (or the time is up).
    std::optional<dnsblog::ScoreRequest> next_request(boost::asio::io_context& io) {
        for (int i = 0; i < 200; ++i) {
            io.run_for(5ms);
            if (conn < 0) conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK);
            if (conn < 0) continue;
            char buf[4096];
            ssize_t n = ::recv(conn, buf, sizeof(buf), MSG_PEEK);
            if (n <= 0) continue;
            std::size_t used = decoder.feed(std::string_view(buf, n));
            REQUIRE(::recv(conn, buf, used, 0) == static_cast<ssize_t>(used));
            if (decoder.status() == psm::AttrDecoder::Status::complete) return dnsblog::decode_request(decoder.take());
        }
        return std::nullopt;
    }
    void reply(const dnsblog::ScoreRequest& req, int score, int ttl, const std::string& name) {
        dnsblog::ScoreReply r;
        r.label = req.label;
        r.client_address = req.client_address;
        r.score = score;
        r.ttl = ttl;
        r.dnsbl_name = name;
        std::string bytes = psm::attr_encode(dnsblog::encode_reply(r));
        REQUIRE(::send(conn, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    }
};

struct Fixture {
    psm::test::LogCapture log;
    boost::asio::io_context io;
    TimerQueue timers{io};
    CoreSettings settings = CoreSettings::from_config(test_config());
    FakeDnsblog fake;
    std::unique_ptr<DnsblClient> client;
    Fixture() {
        settings.dnsblog_service = fake.path;
        client = std::make_unique<DnsblClient>(io, timers, settings);
    }
    void run(std::chrono::milliseconds t) { io.run_for(t); }
};

void count(void* p) {
    ++*static_cast<int*>(p);
}

} // namespace

TEST_CASE("dnsbl client: one weighted request per address, shared by its sessions") {
    Fixture f;
    int a_calls = 0, b_calls = 0, c_calls = 0;
    DnsblClient::Waiter a, b, c;
    f.client->join(a, "192.0.2.7", 6000ms, &count, &a_calls);
    f.client->join(b, "192.0.2.7", 3000ms, &count, &b_calls);
    auto req = f.fake.next_request(f.io);
    REQUIRE(req);
    CHECK(req->client_address == "192.0.2.7");
    CHECK(req->sites == "bl.example*2, wl.example*-1");
    CHECK(req->min_ttl == 60);
    CHECK(req->max_ttl == 3600);
    CHECK(req->deadline_ms == 1000); // capped by postscreen_dnsbl_timeout (1s here)
    CHECK(f.client->requests_sent() == 1);
    CHECK_FALSE(f.client->complete(a));
    CHECK(a_calls == 0);

    f.fake.reply(*req, 2, 120, "bl.example");
    f.run(50ms);
    CHECK(a_calls == 1);
    CHECK(b_calls == 1);
    CHECK(f.client->complete(a));

    // A session joining after the reply is notified too, without a new request.
    f.client->join(c, "192.0.2.7", 6000ms, &count, &c_calls);
    CHECK(c_calls == 0); // never inside join()
    f.run(20ms);
    CHECK(c_calls == 1);
    CHECK(f.client->requests_sent() == 1);

    DnsblClient::Result r = f.client->retrieve(a);
    CHECK(r.answered);
    CHECK(r.score == 2);
    CHECK(r.ttl == 120);
    CHECK(r.dnsbl_name == "bl.example");
    f.client->retrieve(b);
    f.client->retrieve(c);
    // Forgotten after the last session read it: the next one asks again.
    CHECK(f.client->lookups() == 0);
    DnsblClient::Waiter d;
    int d_calls = 0;
    f.client->join(d, "192.0.2.7", 6000ms, &count, &d_calls);
    auto again = f.fake.next_request(f.io);
    REQUIRE(again);
    CHECK(again->label != req->label);
}

TEST_CASE("dnsbl client: partial score before the reply, late reply ignored") {
    Fixture f;
    int calls = 0;
    DnsblClient::Waiter a;
    f.client->join(a, "192.0.2.8", 500ms, &count, &calls);
    auto req = f.fake.next_request(f.io);
    REQUIRE(req);
    CHECK(req->deadline_ms == 500);
    DnsblClient::Result r = f.client->retrieve(a);
    CHECK_FALSE(r.answered);
    CHECK(r.score == 0);
    CHECK(r.ttl == 60);
    f.fake.reply(*req, 5, 100, "bl.example");
    f.run(50ms);
    CHECK(calls == 0);
    CHECK(f.log.lines().empty());
}

TEST_CASE("dnsbl client: dnsblog unreachable") {
    Fixture f;
    f.settings.dnsblog_service = f.fake.dir + "/nothing-here";
    int calls = 0;
    DnsblClient::Waiter a;
    f.client->join(a, "192.0.2.9", 6000ms, &count, &calls);
    f.run(20ms);
    CHECK(calls == 1);
    auto lines = f.log.lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "warning: psc_dnsbl_request: connect to " + f.fake.dir +
                          "/nothing-here service: No such file or directory");
    DnsblClient::Result r = f.client->retrieve(a);
    CHECK_FALSE(r.answered);
    CHECK(r.score == 0);
}

TEST_CASE("dnsbl client: no reply within postscreen_dnsbl_timeout") {
    Fixture f;
    int calls = 0;
    DnsblClient::Waiter a;
    f.client->join(a, "192.0.2.10", 6000ms, &count, &calls);
    REQUIRE(f.fake.next_request(f.io));
    f.client->leave(a); // the session ended; the warning still comes, as stock
    f.run(1300ms);
    auto lines = f.log.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "warning: dnsblog reply timeout 1s for bl.example");
    CHECK(lines[1] == "warning: dnsblog reply timeout 1s for wl.example");
}

TEST_CASE("dnsbl client: a lost connection completes what was pending - the next request reconnects") {
    Fixture f;
    int calls = 0;
    DnsblClient::Waiter a;
    f.client->join(a, "192.0.2.11", 6000ms, &count, &calls);
    REQUIRE(f.fake.next_request(f.io));
    f.fake.hang_up();
    f.run(50ms);
    CHECK(calls == 1);
    CHECK_FALSE(f.client->retrieve(a).answered);
    CHECK_FALSE(f.log.lines().empty());

    DnsblClient::Waiter b;
    f.client->join(b, "192.0.2.12", 6000ms, &count, &calls);
    auto req = f.fake.next_request(f.io);
    REQUIRE(req);
    f.fake.reply(*req, 0, 60, "");
    f.run(50ms);
    CHECK(calls == 2);
    CHECK(f.client->retrieve(b).answered);
}

TEST_CASE("dnsbl client: pipelined requests answered out of order") {
    Fixture f;
    int calls_a = 0, calls_b = 0;
    DnsblClient::Waiter a, b;
    f.client->join(a, "192.0.2.21", 6000ms, &count, &calls_a);
    f.client->join(b, "192.0.2.22", 6000ms, &count, &calls_b);
    auto ra = f.fake.next_request(f.io);
    auto rb = f.fake.next_request(f.io);
    REQUIRE(ra);
    REQUIRE(rb);
    f.fake.reply(*rb, 1, 300, "bl.example");
    f.fake.reply(*ra, -1, 60, "wl.example");
    f.run(50ms);
    CHECK(calls_a == 1);
    CHECK(calls_b == 1);
    CHECK(f.client->retrieve(a).score == -1);
    CHECK(f.client->retrieve(b).score == 1);
}

TEST_CASE("dnsbl client: a backlog to dnsblog does not grow with sessions that have left") {
    // dnsblog reads nothing for a while: the socket fills and requests wait
    // in postscreen. The sessions behind most of them leave (zombies dropped
    // at once); those requests are never written, and the lookups of the
    // sessions still there are.
    Fixture f;
    f.settings.dnsbl_timeout = 60; // no lookup times out while the test reads
    constexpr int kClients = 20000; // ~3 MB of requests, far beyond a socket buffer
    std::vector<std::unique_ptr<DnsblClient::Waiter>> waiters;
    int calls = 0;
    for (int i = 0; i < kClients; ++i) {
        waiters.push_back(std::make_unique<DnsblClient::Waiter>());
        std::string addr = "10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                           std::to_string(i % 256);
        f.client->join(*waiters.back(), addr, 900ms, &count, &calls);
    }
    f.run(20ms);
    // Everyone but the last 10 leaves before dnsblog starts reading.
    for (int i = 0; i < kClients - 10; ++i)
        f.client->leave(*waiters[static_cast<std::size_t>(i)]);
    std::vector<std::string> seen;
    REQUIRE(f.fake.next_request(f.io)); // accepts the connection; the first request
    seen.push_back("first");
    // Then everything else, as fast as it comes, until 300 ms of silence.
    auto quiet_since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - quiet_since < 300ms) {
        f.run(1ms);
        char buf[65536];
        ssize_t n = ::recv(f.fake.conn, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) continue;
        quiet_since = std::chrono::steady_clock::now();
        std::string_view in(buf, static_cast<std::size_t>(n));
        while (!in.empty()) {
            in.remove_prefix(f.fake.decoder.feed(in));
            REQUIRE(f.fake.decoder.status() != psm::AttrDecoder::Status::error);
            if (f.fake.decoder.status() == psm::AttrDecoder::Status::complete)
                seen.push_back(dnsblog::decode_request(f.fake.decoder.take())->client_address);
        }
    }
    CHECK(f.client->requests_skipped() > 0);
    CHECK(seen.size() + f.client->requests_skipped() == kClients);
    CHECK(seen.size() < kClients / 2);
    // The 10 still waiting were all sent, last of all.
    REQUIRE(seen.size() >= 10);
    for (int i = 0; i < 10; ++i) {
        int n = kClients - 10 + i;
        std::string addr = "10." + std::to_string(n / 65536) + "." + std::to_string(n / 256 % 256) + "." +
                           std::to_string(n % 256);
        CHECK(seen[seen.size() - 10 + static_cast<std::size_t>(i)] == addr);
    }
}
