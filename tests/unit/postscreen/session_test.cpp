// The session life cycle in-process: real loopback clients, a fake smtpd
// pass service and a fake dnsblog (server_fixture.hpp). Replies and log
// lines are stock 3.7's (../shared/spec/postscreen.md).
#include "server_fixture.hpp"

#include "handoff.hpp"

#include "psm/util/log.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

using psm::test::ServerFixture;
using psm::test::TestClient;
using namespace std::chrono_literals;

namespace {

const std::string kBanner = "mx.test.example ESMTP Postfix";

std::string endpoint_attrs(const TestClient& c, const std::string& server_addr, int server_port) {
    psm::postscreen::Endpoint ep;
    ep.client_addr = c.source;
    ep.client_port = static_cast<std::uint16_t>(c.port);
    ep.server_addr = server_addr;
    ep.server_port = static_cast<std::uint16_t>(server_port);
    return psm::postscreen::handoff_attributes(ep);
}

} // namespace

TEST_CASE("session: a clean client gets the teaser, PASS NEW after the greet wait, and is handed off") {
    ServerFixture f;
    const auto start = std::chrono::steady_clock::now(); // before the server can start its greet wait
    TestClient c = f.connect("127.0.0.31");
    CHECK(f.read_until(c, "\r\n", 200ms) == "220-" + kBanner + "\r\n");
    auto passed = f.take_handoff(3000ms);
    REQUIRE(passed);
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= 1000ms);
    CHECK(waited < 1500ms); // precise, not whole seconds
    CHECK(passed->attributes == endpoint_attrs(c, "127.0.0.1", f.listen_port()));
    CHECK(f.server->post_queue() == 1);
    // smtpd talks on the passed socket.
    REQUIRE(::send(passed->client.get(), "220 smtpd\r\n", 11, MSG_NOSIGNAL) == 11);
    CHECK(f.read_until(c, "220 smtpd\r\n") == "220-" + kBanner + "\r\n220 smtpd\r\n");
    passed->channel.reset(); // smtpd acknowledges
    CHECK(f.run_until([&] { return f.server->all_sessions() == 0; }));
    CHECK(f.server->post_queue() == 0);
    CHECK(f.log.lines() == std::vector<std::string>{
                               "CONNECT from " + c.addr_port() + " to [127.0.0.1]:" + std::to_string(f.listen_port()),
                               "PASS NEW " + c.addr_port(),
                           });
}

TEST_CASE("session: input that came while the loop was late for the greet wait's end is a pregreet") {
    // The event loop does not run while the client talks and the greet wait
    // (1 s) passes: the timer and the read event are then due together, and
    // whichever runs first, the early input is a pregreet (the final 220
    // was never sent, so it was not the client's turn).
    ServerFixture f({{"postscreen_greet_action", "drop"}});
    TestClient c = f.connect("127.0.0.39");
    f.read_until(c, "\r\n"); // the teaser: the greet wait runs
    c.send("EHLO early\r\n");
    std::this_thread::sleep_for(1300ms);
    CHECK(f.read_until(c, "Protocol error\r\n") == "220-" + kBanner + "\r\n521 5.5.1 Protocol error\r\n");
    CHECK(f.wait_closed(c));
    CHECK(f.lines_matching("^PREGREET 12 after 1(\\.\\d+)? from \\[127\\.0\\.0\\.39\\]:\\d+: EHLO early\\\\r\\\\n$").size() == 1);
    CHECK(f.lines_matching("^PASS").empty());
}

TEST_CASE("session: pregreet with each action") {
    SECTION("drop") {
        ServerFixture f({{"postscreen_greet_action", "drop"}});
        TestClient c = f.connect("127.0.0.32");
        f.read_until(c, "\r\n");
        c.send("EHLO x\t\001\377\r\n");
        CHECK(f.read_until(c, "Protocol error\r\n") == "220-" + kBanner + "\r\n521 5.5.1 Protocol error\r\n");
        CHECK(f.wait_closed(c));
        auto lines = f.log.lines();
        REQUIRE(lines.size() == 3);
        CHECK(std::regex_match(lines[1], std::regex(R"(PREGREET 11 after 0(\.\d+)? from \[127\.0\.0\.32\]:\d+: EHLO x\\t\\001\\377\\r\\n)")));
        CHECK(lines[2] == "DISCONNECT " + c.addr_port());
    }
    SECTION("enforce: no 220, the early bytes are the first command, 550 at RCPT") {
        ServerFixture f({{"postscreen_greet_action", "enforce"}});
        TestClient c = f.connect("127.0.0.33");
        f.read_until(c, "\r\n");
        c.send("HELO early.example\r\n");
        CHECK(f.read_until(c, "250 mx.test.example\r\n") == "220-" + kBanner + "\r\n250 mx.test.example\r\n");
        c.send("MAIL FROM:<a@x.example>\r\n");
        f.read_until(c, "2.1.0 Ok\r\n");
        c.send("RCPT TO:<b@y.example>\r\n");
        CHECK(f.read_until(c, "Protocol error\r\n").ends_with("550 5.5.1 Protocol error\r\n"));
        c.send("QUIT\r\n");
        CHECK(f.read_until(c, "Bye\r\n").ends_with("221 2.0.0 Bye\r\n"));
        CHECK(f.wait_closed(c));
        CHECK(f.lines_matching("^NOQUEUE: reject: RCPT from \\[127\\.0\\.0\\.33\\]:\\d+: 550 5\\.5\\.1 Protocol error; "
                               "from=<a@x\\.example>, to=<b@y\\.example>, proto=SMTP, helo=<early\\.example>$")
                  .size() == 1);
        CHECK(f.lines_matching("^PASS").empty());
        CHECK(f.lines_matching("^DISCONNECT ").size() == 1);
    }
    SECTION("ignore: handed off right after the PREGREET line, no PASS, bytes left for smtpd") {
        ServerFixture f;
        TestClient c = f.connect("127.0.0.34");
        f.read_until(c, "\r\n");
        const auto start = std::chrono::steady_clock::now();
        c.send("EHLO early\r\n");
        auto passed = f.take_handoff();
        REQUIRE(passed);
        CHECK(std::chrono::steady_clock::now() - start < 500ms);
        char buf[64];
        ssize_t n = ::recv(passed->client.get(), buf, sizeof(buf), 0);
        CHECK(std::string(buf, n) == "EHLO early\r\n");
        CHECK(f.lines_matching("^PASS").empty());
        CHECK(f.lines_matching("^PREGREET 12 after ").size() == 1);
    }
}

TEST_CASE("session: no teaser with an empty greet banner - no tests: immediate hand-off") {
    ServerFixture f({{"postscreen_greet_banner", ""}});
    TestClient c = f.connect("127.0.0.35");
    auto passed = f.take_handoff(300ms);
    REQUIRE(passed);
    c.poll();
    CHECK(c.received.empty());
    CHECK(f.lines_matching("^PASS").empty());
}

TEST_CASE("session: access list permit and reject with each denylist action") {
    const std::string acl = "cidr:{{127.0.0.40 permit}, {127.0.0.41 reject}}";
    SECTION("permit") {
        ServerFixture f({{"postscreen_access_list", acl}});
        TestClient c = f.connect("127.0.0.40");
        REQUIRE(f.take_handoff(300ms));
        CHECK(f.lines_matching("^ALLOWLISTED \\[127\\.0\\.0\\.40\\]:\\d+$").size() == 1);
        c.poll();
        CHECK(c.received.empty()); // no teaser
    }
    SECTION("reject, drop") {
        ServerFixture f({{"postscreen_access_list", acl}, {"postscreen_denylist_action", "drop"}});
        TestClient c = f.connect("127.0.0.41");
        CHECK(f.read_until(c, "\r\n") == "521 5.3.2 Service currently unavailable\r\n");
        CHECK(f.wait_closed(c));
        CHECK(f.lines_matching("^DENYLISTED \\[127\\.0\\.0\\.41\\]:\\d+$").size() == 1);
        CHECK(f.lines_matching("^DISCONNECT ").size() == 1);
    }
    SECTION("reject, enforce: all tests, then 550 at RCPT") {
        ServerFixture f({{"postscreen_access_list", acl}, {"postscreen_denylist_action", "enforce"}});
        TestClient c = f.connect("127.0.0.41");
        CHECK(f.read_until(c, "220 " + kBanner + "\r\n") == "220-" + kBanner + "\r\n220 " + kBanner + "\r\n");
        c.send("HELO a\r\n");
        f.read_until(c, "250 mx");
        c.send("MAIL FROM:<>\r\n");
        f.read_until(c, "Ok\r\n");
        c.send("RCPT TO:<x@y>\r\n");
        CHECK(f.read_until(c, "5.3.2 Service currently unavailable\r\n")
                  .ends_with("550 5.3.2 Service currently unavailable\r\n"));
        CHECK(f.lines_matching("NOQUEUE: reject: RCPT from .*550 5\\.3\\.2").size() == 1);
    }
    SECTION("reject, ignore: like an unlisted client") {
        ServerFixture f({{"postscreen_access_list", acl}});
        TestClient c = f.connect("127.0.0.41");
        REQUIRE(f.take_handoff());
        CHECK(f.lines_matching("^DENYLISTED ").size() == 1);
        CHECK(f.lines_matching("^PASS NEW ").size() == 1);
    }
}

TEST_CASE("session: pre-3.6 wording and the one-time compatibility line") {
    ServerFixture f({{"compatibility_level", "2"},
                     {"postscreen_access_list", "cidr:{{127.0.0.42 permit}, {127.0.0.43 reject}}"},
                     {"postscreen_denylist_action", "drop"}});
    TestClient a = f.connect("127.0.0.42");
    REQUIRE(f.take_handoff());
    TestClient b = f.connect("127.0.0.43");
    CHECK(f.wait_closed(b));
    auto lines = f.log.lines();
    REQUIRE(lines.size() >= 5);
    CHECK(lines[1] == "WHITELISTED " + a.addr_port());
    CHECK(lines[2] == "using backwards-compatible default setting respectful_logging=no for client " + a.addr_port());
    CHECK(lines[4] == "BLACKLISTED " + b.addr_port());
}

TEST_CASE("session: allowlist veto") {
    ServerFixture f({{"postscreen_allowlist_interfaces", "!127.0.0.1, static:all"}});
    TestClient c = f.connect("127.0.0.44");
    CHECK(f.read_until(c, "220 " + kBanner + "\r\n") == "220-" + kBanner + "\r\n220 " + kBanner + "\r\n");
    CHECK(f.lines_matching("^ALLOWLIST VETO \\[127\\.0\\.0\\.44\\]:\\d+$").size() == 1);
    c.send("QUIT\r\n");
    CHECK(f.wait_closed(c));
    CHECK(f.lines_matching("^PASS").empty()); // a failure cancels the pregreet pass
}

TEST_CASE("session: connection count limit") {
    ServerFixture f({{"postscreen_client_connection_count_limit", "2"}});
    TestClient a = f.connect("127.0.0.45");
    TestClient b = f.connect("127.0.0.45");
    TestClient c = f.connect("127.0.0.45");
    CHECK(f.read_until(c, "connections\r\n") == "421 4.7.0 Error: too many connections\r\n");
    CHECK(f.lines_matching("^NOQUEUE: reject: CONNECT from " + std::regex_replace(c.addr_port(), std::regex("[.\\[\\]]"), "\\$&") +
                           ": too many connections$")
              .size() == 1);
    CHECK(f.wait_closed(c));
    a.poll();
    CHECK(a.received == "220-" + kBanner + "\r\n");
}

TEST_CASE("session: pre-queue limit and STRESS mode") {
    ServerFixture f({{"postscreen_pre_queue_limit", "10"}});
    std::vector<TestClient> clients;
    for (int i = 0; i < 10; ++i)
        clients.push_back(f.connect("127.0.1." + std::to_string(i + 1)));
    f.run(50ms);
    CHECK(f.lines_matching("^entering STRESS mode with 9 connections$").size() == 1);
    TestClient& last = clients.back();
    CHECK(f.read_until(last, "busy\r\n") == "421 4.3.2 All screening ports are busy\r\n");
    CHECK(f.lines_matching("^reject: connect from \\[127\\.0\\.1\\.10\\]:\\d+: all screening ports busy$").size() == 1);
    // The rest finish their greet wait and are handed off; stress mode ends
    // when the count falls to 7.
    for (int i = 0; i < 9; ++i) {
        auto p = f.take_handoff();
        REQUIRE(p);
    } // smtpd acknowledged each one
    CHECK(f.run_until([&] { return !f.lines_matching("^leaving STRESS mode with 7 connections$").empty(); }, 4000ms));
}

TEST_CASE("session: post-queue limit") {
    ServerFixture f({{"postscreen_post_queue_limit", "5"}, {"postscreen_greet_banner", ""}});
    std::vector<TestClient> clients;
    std::vector<ServerFixture::Passed> passed;
    for (int i = 0; i < 5; ++i) {
        clients.push_back(f.connect("127.0.2." + std::to_string(i + 1)));
        auto p = f.take_handoff();
        REQUIRE(p);
        passed.push_back(std::move(*p)); // not acknowledged: stays in the post-queue
    }
    CHECK(f.server->post_queue() == 5);
    TestClient c = f.connect("127.0.2.9");
    CHECK(f.read_until(c, "busy\r\n") == "421 4.3.2 All server ports are busy\r\n");
    CHECK(f.lines_matching("^NOQUEUE: reject: CONNECT from \\[127\\.0\\.2\\.9\\]:\\d+: all server ports busy$").size() == 1);
}

TEST_CASE("session: hand-off failures") {
    SECTION("no teaser outstanding: 421 and no DISCONNECT") {
        ServerFixture f({{"postscreen_greet_banner", ""}}, false);
        TestClient c = f.connect("127.0.0.46");
        CHECK(f.read_until(c, "\r\n") == "421 4.3.2 All server ports are busy\r\n");
        CHECK(f.wait_closed(c));
        CHECK(f.lines_matching("^warning: cannot connect to service private/smtpd: No such file or directory$").size() ==
              1);
        CHECK(f.lines_matching("^DISCONNECT").empty());
    }
    SECTION("after a teaser: X21") {
        ServerFixture f({}, false);
        TestClient c = f.connect("127.0.0.47");
        CHECK(f.read_until(c, "220 " + kBanner + "\r\n", 3000ms) == "220-" + kBanner + "\r\n220 " + kBanner + "\r\n");
        c.send("EHLO x\r\n");
        CHECK(f.read_until(c, "resources\r\n").ends_with("220 " + kBanner + "\r\n421 4.3.2 No system resources\r\n"));
        CHECK(f.wait_closed(c));
        auto lines = f.log.lines();
        REQUIRE(lines.size() == 5);
        CHECK(lines[1] == "PASS NEW " + c.addr_port());
        CHECK(lines[2] == "warning: cannot connect to service private/smtpd: No such file or directory");
        CHECK(lines[3] == "PASS OLD " + c.addr_port());
        CHECK(lines[4] == "DISCONNECT " + c.addr_port());
    }
}

namespace {

// Connects to private/smtpd until its listen queue refuses (EAGAIN); the
// connections stay queued for as long as the returned descriptors live.
std::vector<psm::UniqueFd> fill_smtpd_queue() {
    std::vector<psm::UniqueFd> queued;
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strncpy(sun.sun_path, "private/smtpd", sizeof(sun.sun_path) - 1);
    for (int i = 0; i < 1000; ++i) {
        psm::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
            REQUIRE(errno == EAGAIN);
            return queued;
        }
        queued.push_back(std::move(fd));
    }
    FAIL("the listen queue of private/smtpd never filled");
    return queued;
}

} // namespace

TEST_CASE("session: a full smtpd listen queue delays the hand-off for up to a second") {
    SECTION("smtpd catches up: the client is passed, no warning") {
        ServerFixture f({{"postscreen_greet_banner", ""}});
        auto queued = fill_smtpd_queue();
        TestClient c = f.connect("127.0.0.49");
        f.run(150ms); // the hand-off was refused and is being retried
        CHECK(f.lines_matching("cannot connect").empty());
        // smtpd takes what was queued before the client.
        int taken = 0;
        while (psm::UniqueFd(::accept(f.smtpd_listener.get(), nullptr, nullptr)))
            ++taken;
        CHECK(taken == static_cast<int>(queued.size()));
        auto passed = f.take_handoff(1000ms);
        REQUIRE(passed);
        CHECK(passed->attributes == endpoint_attrs(c, "127.0.0.1", f.listen_port()));
        CHECK(f.lines_matching("^warning: cannot connect").empty());
    }
    SECTION("smtpd stays full: stock's 421 and warning after that second") {
        ServerFixture f({{"postscreen_greet_banner", ""}});
        auto queued = fill_smtpd_queue();
        const auto start = std::chrono::steady_clock::now();
        TestClient c = f.connect("127.0.0.50");
        CHECK(f.read_until(c, "\r\n", 3000ms) == "421 4.3.2 All server ports are busy\r\n");
        CHECK(std::chrono::steady_clock::now() - start >= 900ms);
        CHECK(f.wait_closed(c));
        CHECK(f.lines_matching("^warning: cannot connect to service private/smtpd: Resource temporarily unavailable$")
                  .size() == 1);
    }
}

TEST_CASE("session: client hangs up in the greet wait") {
    ServerFixture f;
    TestClient c = f.connect("127.0.0.48");
    f.read_until(c, "\r\n");
    c.fd.reset();
    CHECK(f.wait_log("^DISCONNECT "));
    auto lines = f.log.lines();
    REQUIRE(lines.size() == 3);
    CHECK(std::regex_match(lines[1], std::regex(R"(HANGUP after 0(\.\d+)? from \[127\.0\.0\.48\]:\d+ in tests before SMTP handshake)")));
    CHECK(f.server->all_sessions() == 0);
}

TEST_CASE("session: DNSBL through the weighted dnsblog protocol") {
    SECTION("listed, drop, reply map name") {
        ServerFixture f({{"postscreen_dnsbl_sites", "secret.example*2"},
                         {"postscreen_dnsbl_reply_map", "inline:{secret.example=public.example}"},
                         {"postscreen_dnsbl_action", "drop"}});
        TestClient c = f.connect("127.0.0.50");
        auto req = f.dnsblog_request();
        REQUIRE(req);
        CHECK(req->client_address == "127.0.0.50");
        CHECK(req->sites == "secret.example*2");
        CHECK(*req->deadline_ms <= 1000);
        CHECK(*req->deadline_ms > 900);
        f.dnsblog_reply(*req, 2, 60, "secret.example");
        CHECK(f.read_until(c, "public.example\r\n") ==
              "220-" + kBanner + "\r\n521 5.7.1 Service unavailable; client [127.0.0.50] blocked using public.example\r\n");
        CHECK(f.lines_matching("^DNSBL rank 2 for \\[127\\.0\\.0\\.50\\]:\\d+$").size() == 1);
    }
    SECTION("below the threshold: passes") {
        ServerFixture f({{"postscreen_dnsbl_sites", "bl.example*2"}, {"postscreen_dnsbl_threshold", "3"}});
        TestClient c = f.connect("127.0.0.51");
        auto req = f.dnsblog_request();
        REQUIRE(req);
        f.dnsblog_reply(*req, 2, 60, "bl.example");
        REQUIRE(f.take_handoff());
        CHECK(f.lines_matching("^PASS NEW ").size() == 1);
        CHECK(f.lines_matching("^DNSBL").empty());
    }
    SECTION("allowlist threshold: handed off as soon as the reply is in") {
        ServerFixture f({{"postscreen_dnsbl_sites", "wl.example*-2"},
                         {"postscreen_dnsbl_allowlist_threshold", "-1"},
                         {"postscreen_greet_wait", "5s"}});
        TestClient c = f.connect("127.0.0.52");
        const auto start = std::chrono::steady_clock::now();
        auto req = f.dnsblog_request();
        REQUIRE(req);
        f.dnsblog_reply(*req, -2, 600, "wl.example");
        REQUIRE(f.take_handoff(1000ms));
        CHECK(std::chrono::steady_clock::now() - start < 1000ms);
        CHECK(f.lines_matching("^PASS NEW ").size() == 1);
    }
    SECTION("enforce: the engine rejects RCPT with the DNSBL reply") {
        ServerFixture f({{"postscreen_dnsbl_sites", "bl.example"}, {"postscreen_dnsbl_action", "enforce"},
                         {"postscreen_greet_banner", ""}});
        TestClient c = f.connect("127.0.0.53");
        auto req = f.dnsblog_request();
        REQUIRE(req);
        f.dnsblog_reply(*req, 1, 60, "bl.example");
        CHECK(f.read_until(c, "220 ") == "220 " + kBanner + "\r\n");
        c.send("EHLO h.example\r\n");
        f.read_until(c, "250 CHUNKING\r\n");
        c.send("MAIL FROM:<s@x.example>\r\n");
        f.read_until(c, "2.1.0 Ok\r\n");
        c.send("RCPT TO:<r@y.example>\r\n");
        CHECK(f.read_until(c, "bl.example\r\n")
                  .ends_with("550 5.7.1 Service unavailable; client [127.0.0.53] blocked using bl.example\r\n"));
        CHECK(f.lines_matching("^NOQUEUE: reject: RCPT from \\[127\\.0\\.0\\.53\\]:\\d+: 550 5\\.7\\.1 Service "
                               "unavailable; client \\[127\\.0\\.0\\.53\\] blocked using bl\\.example; "
                               "from=<s@x\\.example>, to=<r@y\\.example>, proto=ESMTP, helo=<h\\.example>$")
                  .size() == 1);
    }
    SECTION("dnsblog answers by the deadline with nothing: decided, passes") {
        ServerFixture f({{"postscreen_dnsbl_sites", "slow.example"}, {"postscreen_greet_banner", ""}});
        TestClient c = f.connect("127.0.0.54");
        auto req = f.dnsblog_request();
        REQUIRE(req);
        REQUIRE(f.take_handoff(1700ms)); // no reply: the grace runs out, score 0
        CHECK(f.lines_matching("^PASS NEW ").size() == 1);
    }
}

TEST_CASE("session: PROXY protocol") {
    ServerFixture f({{"postscreen_upstream_proxy_protocol", "haproxy"}, {"postscreen_greet_banner", ""}});
    SECTION("v1: the proxied endpoints are logged and passed to smtpd") {
        TestClient c = f.connect("127.0.0.60");
        c.send("PROXY TCP4 198.51.100.7 192.0.2.25 12345 25\r\n");
        auto passed = f.take_handoff();
        REQUIRE(passed);
        CHECK(f.lines_matching("^CONNECT from \\[198\\.51\\.100\\.7\\]:12345 to \\[192\\.0\\.2\\.25\\]:25$").size() == 1);
        psm::postscreen::Endpoint ep;
        ep.client_addr = "198.51.100.7";
        ep.client_port = 12345;
        ep.server_addr = "192.0.2.25";
        ep.server_port = 25;
        CHECK(passed->attributes == psm::postscreen::handoff_attributes(ep));
    }
    SECTION("v2") {
        TestClient c = f.connect("127.0.0.61");
        std::string v2("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16);
        v2 += std::string("\xc6\x33\x64\x08\xc0\x00\x02\x19\x30\x39\x00\x19", 12);
        c.send(v2);
        REQUIRE(f.take_handoff());
        CHECK(f.lines_matching("^CONNECT from \\[198\\.51\\.100\\.8\\]:12345 to \\[192\\.0\\.2\\.25\\]:25$").size() == 1);
    }
    SECTION("malformed: warning and the raw 421, no CONNECT") {
        TestClient c = f.connect("127.0.0.62");
        c.send("EHLO foo\r\n");
        CHECK(f.read_until(c, "\r\n") == "421 4.3.2 No system resources\r\n");
        CHECK(f.wait_closed(c));
        CHECK(f.log.lines() == std::vector<std::string>{"warning: haproxy read: short protocol header: EHLO foo\\r\\n"});
    }
}

TEST_CASE("session: PROXY timeout") {
    ServerFixture f({{"postscreen_upstream_proxy_protocol", "haproxy"}, {"postscreen_upstream_proxy_timeout", "1s"}});
    TestClient c = f.connect("127.0.0.63");
    CHECK(f.read_until(c, "\r\n", 2000ms) == "421 4.3.2 No system resources\r\n");
    CHECK(f.log.lines() == std::vector<std::string>{"warning: haproxy read: time limit exceeded"});
}

TEST_CASE("session: an unsupported proxy protocol is fatal at the first connection") {
    ServerFixture f({{"postscreen_upstream_proxy_protocol", "nginx"}});
    psm::log_throw_on_fatal(true);
    try {
        f.connect("127.0.0.64");
        FAIL("no fatal error");
    } catch (const psm::FatalError& e) {
        CHECK(e.text == "unsupported postscreen_upstream_proxy_protocol value: nginx");
    }
    psm::log_throw_on_fatal(false);
}

TEST_CASE("session: bad input in the SMTP engine phase") {
    ServerFixture f({{"postscreen_greet_banner", ""}, {"postscreen_bare_newline_enable", "yes"}});
    SECTION("a 100 KB line: COMMAND LENGTH LIMIT") {
        TestClient c = f.connect("127.0.0.70");
        f.read_until(c, "220 ");
        std::string big(100 * 1024, 'A');
        (void)::send(c.fd.get(), big.data(), big.size(), MSG_NOSIGNAL);
        CHECK(f.read_until(c, "later\r\n").ends_with("421 mx.test.example Service unavailable - try again later\r\n"));
        CHECK(f.lines_matching("^COMMAND LENGTH LIMIT from \\[127\\.0\\.0\\.70\\]:\\d+ after CONNECT$").size() == 1);
    }
    SECTION("NUL bytes and binary garbage are answered, the session goes on") {
        TestClient c = f.connect("127.0.0.71");
        f.read_until(c, "220 ");
        c.send(std::string("\0\0\xff\xfe garbage\r\n", 14));
        CHECK(f.read_until(c, "recognized\r\n").ends_with("502 5.5.2 Error: command not recognized\r\n"));
        c.send("NOOP\r\n");
        CHECK(f.read_until(c, "2.0.0 Ok\r\n").ends_with("250 2.0.0 Ok\r\n"));
    }
}
