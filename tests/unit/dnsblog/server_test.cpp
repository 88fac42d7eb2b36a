// Tests for the dnsblog daemon driven in-process through DaemonHost, with
// the fake DNS server: the stock per-site form (exact reply bytes, stock's
// warnings, one request per connection) and the weighted form (pipelining,
// out-of-order replies, weights and filters, deadlines, TTL bounds, errors,
// overload, cache, disabled lists).
#include "server.hpp"

#include "fake_dns.hpp"
#include "support/log_capture.hpp"

#include "psm/global/attr_io.hpp"
#include "psm/global/dnsblog_protocol.hpp"
#include "psm/util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

using namespace psm::dnsblog;
using namespace std::chrono_literals;
using namespace std::string_literals;
using psm::test::DnsQuery;
using psm::test::DnsResponse;
using psm::test::FakeDns;

namespace {

// listed.test lists 10.0.0.1 (127.0.0.2, 127.0.0.3), 10.0.0.2 (127.0.0.4)
// and 10.0.0.9 after 300 ms; wl.test lists 10.0.0.2 as 127.0.10.2;
// dead.test never answers; everything else is NXDOMAIN with an SOA TTL 40.
std::vector<DnsResponse> zones(const DnsQuery& q) {
    if (q.name.ends_with(".dead.test")) return {};
    if (q.name == "1.0.0.10.listed.test") return {{psm::test::answer_a(q, {"127.0.0.2", "127.0.0.3"}, 300)}};
    if (q.name == "2.0.0.10.listed.test") return {{psm::test::answer_a(q, {"127.0.0.4"}, 200)}};
    if (q.name == "9.0.0.10.listed.test") return {{psm::test::answer_a(q, {"127.0.0.2"}, 300), 300ms}};
    if (q.name == "2.0.0.10.wl.test") return {{psm::test::answer_a(q, {"127.0.10.2"}, 100)}};
    if (q.name == "2.0.0.127.all.test" || q.name == "1.0.0.127.all.test" || q.name.ends_with(".all.test"))
        return {{psm::test::answer_a(q, {"127.0.0.2"})}};
    if (q.name.ends_with(".slow.test")) return {{psm::test::answer_rcode(q, kRcodeNxDomain), 400ms}};
    if (q.name.ends_with(".servfail.test")) return {{psm::test::answer_rcode(q, kRcodeServFail)}};
    return {{psm::test::answer_rcode(q, kRcodeNxDomain, {psm::test::soa_record("zone.test", 40)})}};
}

class Server {
public:
    using Params = std::vector<std::pair<std::string, std::string>>;

    explicit Server(const Params& params = {}) : dns_(io_), guard_(io_.get_executor()) {
        dns_.on_query(zones);
        psm::Config config;
        config.set_override("dnsblog_nameservers", "127.0.0.1:" + std::to_string(dns_.endpoint().port()));
        config.set_override("dnsblog_resolv_conf", "/dev/null");
        config.set_override("dnsblog_health_check_interval", "0");
        for (const auto& [n, v] : params)
            config.set_override(n, v);
        host_ = std::make_unique<psm::DaemonHost>(io_, config, dnsblog_spec());
        daemon_ = std::make_unique<DnsblogDaemon>(*host_);
        daemon_->post_jail();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~Server() {
        boost::asio::post(io_, [this] {
            daemon_.reset();
            host_.reset();
            guard_.reset();
            io_.stop();
        });
        thread_.join();
    }

    // A new client connection; the daemon sees its other end.
    psm::UniqueFd connect() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        boost::asio::post(io_, [this, fd = sv[0]] { daemon_->accept(host_->make_connection(fd)); });
        return psm::UniqueFd(sv[1]);
    }

    int dns_queries() {
        std::promise<int> p;
        boost::asio::post(io_, [&] { p.set_value(dns_.queries()); });
        return p.get_future().get();
    }

    psm::test::LogCapture log;

private:
    boost::asio::io_context io_;
    FakeDns dns_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::unique_ptr<psm::DaemonHost> host_;
    std::unique_ptr<DnsblogDaemon> daemon_;
    std::thread thread_;
};

std::string attr0(std::initializer_list<std::pair<const char*, std::string>> attrs) {
    psm::AttrList list;
    for (const auto& [n, v] : attrs)
        list.push_back(psm::attr::send_str(n, v));
    return psm::attr_encode(list);
}

void send_bytes(int fd, const std::string& bytes) {
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

// Reads one reply as raw bytes (the list and nothing after it).
std::string read_raw(int fd, std::string* rest = nullptr, std::string pending = {}) {
    psm::AttrReadOptions options;
    options.pending = std::move(pending);
    auto r = psm::attr_read_fd(fd, "private/dnsblog", 10s, options);
    REQUIRE(r);
    if (rest) *rest = r.rest;
    return psm::attr_encode(r.attrs);
}

bool closed_without_more(int fd) {
    char c;
    return ::read(fd, &c, 1) == 0;
}

std::string score_request(const std::string& label, const std::string& address, const std::string& sites,
                          std::optional<int> deadline = {}, std::optional<int> min_ttl = {},
                          std::optional<int> max_ttl = {}) {
    ScoreRequest r;
    r.label = label;
    r.client_address = address;
    r.sites = sites;
    r.deadline_ms = deadline;
    r.min_ttl = min_ttl;
    r.max_ttl = max_ttl;
    return psm::attr_encode(encode_request(r));
}

// Reads n weighted replies (in arrival order) from one connection.
std::vector<ScoreReply> read_replies(int fd, int n) {
    std::vector<ScoreReply> out;
    std::string rest;
    for (int i = 0; i < n; ++i) {
        psm::AttrReadOptions options;
        options.pending = rest;
        auto r = psm::attr_read_fd(fd, "private/dnsblog", 10s, options);
        REQUIRE(r);
        rest = r.rest;
        std::string why;
        auto reply = decode_reply(r.attrs, &why);
        INFO(why);
        REQUIRE(reply);
        out.push_back(*reply);
    }
    return out;
}

bool logged(const psm::test::LogCapture& log, const std::string& line) {
    for (const auto& l : log.lines())
        if (l == line) return true;
    return false;
}

} // namespace

TEST_CASE("server, stock form: the reply bytes of stock dnsblog, then close") {
    Server server;
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "listed.test"}, {"client_address", "10.0.0.1"}, {"label", "3"}}));
        CHECK(read_raw(fd.get()) == "rbl_domain\0listed.test\0client_address\0"
                                    "10.0.0.1\0label\0"
                                    "3\0rbl_addr\0"
                                    "127.0.0.2 127.0.0.3\0ttl\0"
                                    "300\0\0"s);
        CHECK(closed_without_more(fd.get()));
    }
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "listed.test"}, {"client_address", "10.0.0.5"}, {"label", "0"}}));
        CHECK(read_raw(fd.get()) == "rbl_domain\0listed.test\0client_address\0"
                                    "10.0.0.5\0label\0"
                                    "0\0rbl_addr\0\0ttl\0"
                                    "40\0\0"s);
        CHECK(closed_without_more(fd.get()));
    }
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "servfail.test"}, {"client_address", "10.0.0.5"}, {"label", "1"}}));
        CHECK(read_raw(fd.get()) == "rbl_domain\0servfail.test\0client_address\0"
                                    "10.0.0.5\0label\0"
                                    "1\0rbl_addr\0\0ttl\0"
                                    "4294967295\0\0"s);
    }
    CHECK(logged(server.log, "addr 10.0.0.1 listed by domain listed.test as 127.0.0.2"));
    CHECK(logged(server.log, "addr 10.0.0.1 listed by domain listed.test as 127.0.0.3"));
    CHECK(logged(server.log, "warning: dnsblog_query: lookup error for DNS query 5.0.0.10.servfail.test: Host or "
                             "domain name not found. Name service error for name=5.0.0.10.servfail.test type=A: "
                             "Host not found, try again"));
}

TEST_CASE("server, stock form: malformed requests get stock's warning and no reply") {
    Server server;
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "listed.test"}, {"bogus", "1"}, {"client_address", "10.0.0.1"}}));
        CHECK(closed_without_more(fd.get()));
    }
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "listed.test"}, {"client_address", "10.0.0.1"}, {"label", "x"}}));
        CHECK(closed_without_more(fd.get()));
    }
    {
        auto fd = server.connect();
        ::shutdown(fd.get(), SHUT_WR); // nothing at all
        CHECK(closed_without_more(fd.get()));
    }
    auto lines = server.log.lines();
    REQUIRE(lines.size() >= 3);
    CHECK(lines[0] == "warning: unexpected attribute bogus from dnsblog socket (expecting: client_address)");
    CHECK(lines[1] == "warning: malformed numerical data from dnsblog socket while reading input attribute value: x");
    CHECK(lines[2] == "warning: premature end-of-input on dnsblog socket while reading input attribute name");
}

TEST_CASE("server, stock form: attributes after label are not read - a non-address is a lookup error") {
    Server server;
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "listed.test"},
                                    {"client_address", "10.0.0.2"},
                                    {"label", "7"},
                                    {"extra", "ignored"}}));
        CHECK(read_raw(fd.get()) == "rbl_domain\0listed.test\0client_address\0"
                                    "10.0.0.2\0label\0"
                                    "7\0rbl_addr\0"
                                    "127.0.0.4\0ttl\0"
                                    "200\0\0"s);
    }
    {
        auto fd = server.connect();
        send_bytes(fd.get(), attr0({{"rbl_domain", "listed.test"}, {"client_address", "not-an-ip"}, {"label", "8"}}));
        CHECK(read_raw(fd.get()) == "rbl_domain\0listed.test\0client_address\0not-an-ip\0label\0"
                                    "8\0rbl_addr\0\0ttl\0"
                                    "4294967295\0\0"s);
    }
    CHECK(server.dns_queries() == 1);
    CHECK(logged(server.log,
                 "warning: dnsblog: malformed client address in request for domain listed.test: not-an-ip"));
}

TEST_CASE("server, weighted form: pipelined requests, replies as they complete, scores and weights") {
    Server server;
    auto fd = server.connect();
    const std::string sites = "listed.test=127.0.0.[2..3]*3, listed.test*1, wl.test=127.0.[0..255].[1..3]*-5";
    send_bytes(fd.get(), score_request("slow", "10.0.0.9", sites) + score_request("a", "10.0.0.1", sites) +
                             score_request("b", "10.0.0.2", sites) + score_request("c", "10.0.0.3", sites));
    auto replies = read_replies(fd.get(), 4);
    CHECK(replies.back().label == "slow"); // answered last: its DNS answer is late
    std::map<std::string, ScoreReply> by;
    for (auto& r : replies)
        by[r.label] = r;

    const ScoreReply& a = by["a"];
    CHECK(a.status == ReplyStatus::ok);
    CHECK(a.client_address == "10.0.0.1");
    CHECK(a.score == 4);
    CHECK(a.dnsbl_name == "listed.test");
    // Stock's TTL rule: score > 0 takes fail_ttl, lowered by listed.test's
    // 300 and by wl.test's negative answer (SOA 40, weight <= 0): 40, then
    // raised to postscreen_dnsbl_min_ttl.
    CHECK(a.ttl == 60);
    REQUIRE(a.sites.size() == 2);
    CHECK(a.sites[0].domain == "listed.test");
    CHECK(a.sites[0].status == SiteStatus::listed);
    CHECK(a.sites[0].addresses == "127.0.0.2 127.0.0.3");
    CHECK(a.sites[0].weight == 4);
    CHECK(a.sites[0].ttl == 300);
    CHECK(a.sites[1].domain == "wl.test");
    CHECK(a.sites[1].status == SiteStatus::not_listed);
    CHECK(a.sites[1].weight == 0);
    CHECK(a.sites[1].ttl == 40);

    const ScoreReply& b = by["b"]; // 127.0.0.4: only the unfiltered entry; allowlisted by wl.test
    CHECK(b.score == 1 - 5);
    CHECK(b.sites[0].weight == 1);
    CHECK(b.sites[1].status == SiteStatus::listed);
    CHECK(b.sites[1].weight == -5);
    CHECK(b.ttl == 100); // score <= 0: pass_ttl, from wl.test's listing

    const ScoreReply& c = by["c"];
    CHECK(c.score == 0);
    CHECK(c.dnsbl_name.empty());
    CHECK(c.failed().empty());
    CHECK(c.ttl == 60); // NXDOMAIN with SOA TTL 40, raised to postscreen_dnsbl_min_ttl
    CHECK(by["slow"].score == 4);
}

TEST_CASE("server, weighted form: the deadline gives a partial score - failures are reported") {
    Server server;
    auto fd = server.connect();
    auto start = std::chrono::steady_clock::now();
    send_bytes(fd.get(), score_request("1", "10.0.0.1", "listed.test*2 dead.test servfail.test", 500));
    auto r = read_replies(fd.get(), 1).at(0);
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 450ms);
    CHECK(took < 3s);
    CHECK(r.status == ReplyStatus::ok);
    CHECK(r.score == 2);
    CHECK(r.ttl == 300); // score > 0: fail_ttl from listed.test; the failed site only touches pass_ttl
    auto failed = r.failed();
    REQUIRE(failed.size() == 2);
    CHECK(failed[0]->domain == "dead.test");
    CHECK(failed[0]->status == SiteStatus::failed);
    CHECK(failed[0]->reason == "timeout");
    CHECK(failed[1]->domain == "servfail.test");
    CHECK(failed[1]->reason == "servfail");
}

TEST_CASE("server, weighted form: TTL bounds from the request, cache hits cost no query") {
    Server server;
    auto fd = server.connect();
    send_bytes(fd.get(), score_request("1", "10.0.0.1", "listed.test", {}, 10, 120));
    auto r = read_replies(fd.get(), 1).at(0);
    CHECK(r.ttl == 120); // 300 capped at max_ttl
    const int queries = server.dns_queries();
    send_bytes(fd.get(), score_request("2", "10.0.0.1", "listed.test", {}, 400, 3600));
    r = read_replies(fd.get(), 1).at(0);
    CHECK(r.ttl == 400); // raised to min_ttl
    CHECK(r.score == 1);
    CHECK(server.dns_queries() == queries);
}

TEST_CASE("server, weighted form: bad requests get an error reply, the connection stays usable") {
    Server server;
    auto fd = server.connect();
    send_bytes(fd.get(), attr0({{"request", "dnsbl_score"}, {"label", "u"}, {"client_address", "10.0.0.1"},
                                {"colour", "blue"}}));
    send_bytes(fd.get(), score_request("addr", "10.0.0.300", "listed.test"));
    send_bytes(fd.get(), score_request("sites", "10.0.0.1", "listed.test*x"));
    send_bytes(fd.get(), attr0({{"request", "frobnicate"}, {"label", "f"}}));
    send_bytes(fd.get(), score_request("ok", "10.0.0.1", "listed.test"));
    auto replies = read_replies(fd.get(), 5);
    std::map<std::string, ScoreReply> by;
    for (auto& r : replies)
        by[r.label] = r;
    CHECK(by["u"].status == ReplyStatus::error);
    CHECK(by["u"].reason == "unknown attribute: colour");
    CHECK(by["addr"].reason == "bad client address: 10.0.0.300");
    CHECK(by["sites"].reason == "bad DNSBL weight factor \"x\" in \"listed.test*x\"");
    CHECK(by["f"].reason == "unknown request: frobnicate");
    CHECK(by["ok"].status == ReplyStatus::ok);
    CHECK(by["ok"].score == 1);
    CHECK(logged(server.log, "warning: dnsblog: bad dnsbl_score request: unknown attribute: colour"));
}

TEST_CASE("server, weighted form: an undecodable list gets an error reply and the connection closes") {
    Server server;
    auto fd = server.connect();
    send_bytes(fd.get(), score_request("1", "10.0.0.3", "listed.test"));
    send_bytes(fd.get(), "request\0dnsbl_score\0label\0"s + std::string(9000, 'x'));
    auto replies = read_replies(fd.get(), 2);
    std::map<std::string, ScoreReply> by;
    for (auto& r : replies)
        by[r.label] = r;
    CHECK(by["1"].status == ReplyStatus::ok);
    CHECK(by[""].status == ReplyStatus::error);
    CHECK(by[""].reason == "malformed attribute list");
    CHECK(closed_without_more(fd.get()));
}

TEST_CASE("server, weighted form: beyond the queue the reply says overload") {
    Server server(Server::Params{{"dnsblog_query_concurrency", "1"}, {"dnsblog_queue_limit", "1"}});
    auto fd = server.connect();
    send_bytes(fd.get(), score_request("1", "10.0.0.1", "slow.test") + score_request("2", "10.0.0.2", "slow.test") +
                             score_request("3", "10.0.0.3", "slow.test"));
    auto replies = read_replies(fd.get(), 3);
    std::map<std::string, ScoreReply> by;
    for (auto& r : replies)
        by[r.label] = r;
    CHECK(by["1"].status == ReplyStatus::ok);
    CHECK(by["2"].status == ReplyStatus::ok); // queued, then answered
    CHECK(by["3"].status == ReplyStatus::overload);
    CHECK(by["3"].reason == "dnsblog lookup queue full");
    CHECK(replies.front().label == "3"); // refused at once
}

TEST_CASE("server, weighted form: a list that lists everything is reported disabled") {
    Server server(Server::Params{{"dnsblog_health_check_interval", "300s"}});
    auto fd = server.connect();
    send_bytes(fd.get(), score_request("1", "10.0.0.3", "all.test*5 listed.test"));
    auto r = read_replies(fd.get(), 1).at(0);
    CHECK(r.score == 0);
    REQUIRE(r.sites.size() == 2);
    CHECK(r.sites[0].status == SiteStatus::disabled);
    CHECK(r.sites[0].reason == "disabled");
    CHECK(r.sites[1].status == SiteStatus::not_listed);
    CHECK(r.failed().size() == 1);
}
