// A programmable DNS server for dnsblog's unit tests, on the test's own
// io_context: UDP and TCP on 127.0.0.1 (random port). A handler decides
// what each query gets: nothing, one or several datagrams (possibly wrong
// ones: bad id, other question, garbage), after a delay, or from another
// port (a spoofing attempt). Helpers build the usual answers.
#pragma once

#include "dns_message.hpp"

#include <utility>

#include <boost/asio.hpp>
#include <ldns/ldns.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace psm::test {

namespace asio = boost::asio;

struct DnsQuery {
    std::vector<std::uint8_t> wire;
    std::uint16_t id = 0;
    std::string name; // lower case, no final dot
    std::uint16_t type = 0;
    bool tcp = false;
};

struct DnsResponse {
    std::vector<std::uint8_t> bytes;
    std::chrono::milliseconds delay{0};
    bool spoofed = false; // sent from another socket (other source port)
};

inline std::vector<std::uint8_t> answer_a(const DnsQuery& q, const std::vector<std::string>& addresses, int ttl = 60,
                                          const std::string& owner = {}) {
    std::vector<std::string> rrs;
    for (const auto& a : addresses)
        rrs.push_back((owner.empty() ? q.name : owner) + ". " + std::to_string(ttl) + " IN A " + a);
    return dnsblog::build_answer(q.wire, 0, rrs);
}

inline std::string soa_record(const std::string& zone, int ttl, int minimum = 60) {
    return zone + ". " + std::to_string(ttl) + " IN SOA ns." + zone + ". hostmaster." + zone + ". 1 3600 600 86400 " +
           std::to_string(minimum);
}

inline std::vector<std::uint8_t> answer_rcode(const DnsQuery& q, int rcode,
                                              const std::vector<std::string>& authority = {}) {
    return dnsblog::build_answer(q.wire, rcode, {}, authority);
}

class FakeDns {
public:
    using Handler = std::function<std::vector<DnsResponse>(const DnsQuery&)>;

    explicit FakeDns(asio::io_context& io)
        : io_(io), udp_(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          spoof_(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), tcp_(io) {
        const auto port = udp_.local_endpoint().port();
        asio::ip::tcp::endpoint tcp_ep(asio::ip::make_address("127.0.0.1"), port);
        tcp_.open(tcp_ep.protocol());
        tcp_.set_option(asio::socket_base::reuse_address(true));
        boost::system::error_code ec;
        tcp_.bind(tcp_ep, ec);
        if (!ec) {
            tcp_.listen();
            accept();
        }
        receive();
    }

    ~FakeDns() {
        *alive_ = false;
        boost::system::error_code ignored;
        udp_.close(ignored);
        spoof_.close(ignored);
        tcp_.close(ignored);
    }

    asio::ip::udp::endpoint endpoint() const { return udp_.local_endpoint(); }
    void on_query(Handler handler) { handler_ = std::move(handler); }
    int queries() const { return queries_; }
    int tcp_queries() const { return tcp_queries_; }
    const std::vector<DnsQuery>& log() const { return log_; }
    const std::vector<asio::ip::udp::endpoint>& sources() const { return sources_; }

    static bool parse(const std::uint8_t* data, std::size_t size, DnsQuery& q) {
        ldns_pkt* pkt = nullptr;
        if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK) return false;
        bool ok = false;
        if (ldns_pkt_qdcount(pkt) == 1) {
            const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
            char* text = ldns_rdf2str(ldns_rr_owner(question));
            q.name = text;
            free(text);
            if (!q.name.empty() && q.name.back() == '.') q.name.pop_back();
            for (auto& c : q.name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            q.type = ldns_rr_get_type(question);
            q.id = ldns_pkt_id(pkt);
            q.wire.assign(data, data + size);
            ok = true;
        }
        ldns_pkt_free(pkt);
        return ok;
    }

private:
    void receive() {
        udp_.async_receive_from(asio::buffer(buf_), from_,
                                [this, alive = alive_](const boost::system::error_code& ec, std::size_t n) {
                                    if (!*alive || ec == asio::error::operation_aborted) return;
                                    if (!ec) handle(buf_.data(), n, from_);
                                    receive();
                                });
    }

    void handle(const std::uint8_t* data, std::size_t n, asio::ip::udp::endpoint from) {
        DnsQuery q;
        if (!parse(data, n, q)) return;
        ++queries_;
        log_.push_back(q);
        sources_.push_back(from);
        if (!handler_) return;
        for (auto& r : handler_(q)) {
            auto bytes = std::make_shared<std::vector<std::uint8_t>>(std::move(r.bytes));
            auto send = [this, alive = alive_, bytes, from, spoofed = r.spoofed] {
                if (!*alive) return;
                boost::system::error_code ignored;
                (spoofed ? spoof_ : udp_).send_to(asio::buffer(*bytes), from, 0, ignored);
            };
            if (r.delay.count() == 0) {
                send();
            } else {
                auto timer = std::make_shared<asio::steady_timer>(io_, r.delay);
                timer->async_wait([timer, send](const boost::system::error_code& ec) {
                    if (!ec) send();
                });
            }
        }
    }

    void accept() {
        tcp_.async_accept([this, alive = alive_](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
            if (!*alive || ec) return;
            auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
            auto len = std::make_shared<std::array<std::uint8_t, 2>>();
            asio::async_read(*sock, asio::buffer(*len),
                             [this, alive = alive_, sock, len](const boost::system::error_code& e, std::size_t) {
                                 if (!*alive || e) return;
                                 auto body = std::make_shared<std::vector<std::uint8_t>>(((*len)[0] << 8) | (*len)[1]);
                                 asio::async_read(
                                     *sock, asio::buffer(*body),
                                     [this, alive, sock, body](const boost::system::error_code& e2, std::size_t) {
                                         if (!*alive || e2) return;
                                         DnsQuery q;
                                         if (!parse(body->data(), body->size(), q)) return;
                                         q.tcp = true;
                                         ++tcp_queries_;
                                         log_.push_back(q);
                                         if (!handler_) return;
                                         auto out = std::make_shared<std::vector<std::uint8_t>>();
                                         for (auto& r : handler_(q)) {
                                             out->push_back(static_cast<std::uint8_t>(r.bytes.size() >> 8));
                                             out->push_back(static_cast<std::uint8_t>(r.bytes.size() & 0xff));
                                             out->insert(out->end(), r.bytes.begin(), r.bytes.end());
                                             break; // one answer per TCP query
                                         }
                                         asio::async_write(
                                             *sock, asio::buffer(*out),
                                             [sock, out](const boost::system::error_code&, std::size_t) {});
                                     });
                             });
            accept();
        });
    }

    asio::io_context& io_;
    asio::ip::udp::socket udp_;
    asio::ip::udp::socket spoof_;
    asio::ip::tcp::acceptor tcp_;
    asio::ip::udp::endpoint from_;
    std::array<std::uint8_t, 65536> buf_{};
    Handler handler_;
    int queries_ = 0;
    int tcp_queries_ = 0;
    std::vector<DnsQuery> log_;
    std::vector<asio::ip::udp::endpoint> sources_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Runs io until pred() holds or the time is up; returns pred().
template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return pred();
}

// Runs io for a while (letting late datagrams arrive).
inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
}

} // namespace psm::test
