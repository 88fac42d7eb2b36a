// The DNSBL list health check (beyond stock): every interval each list in
// use is asked for its test entries 127.0.0.2 (must be listed) and
// 127.0.0.1 (must not be). A list that lists 127.0.0.1, or answers with an
// address in 127.255.255.0/24 ("query refused/blocked", e.g. Spamhaus for
// queries through public resolvers), is disabled until a later check finds
// it healthy, so that a broken or rate-limited list can never reject the
// world. A list seen for the first time is checked at once; results for it
// are held back until that first check is done.
#pragma once

#include "dns_client.hpp"

#include "psm/util/rate_limit.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace psm::dnsblog {

// 127.255.255.0/24: DNSBL error codes, never a listing.
bool is_refusal_code(const std::array<std::uint8_t, 4>& address);

class ListHealth {
public:
    // interval_seconds 0 turns the health check off: nothing is ever
    // disabled or held back.
    ListHealth(boost::asio::io_context& io, DnsClient& dns, int interval_seconds);
    ~ListHealth();
    ListHealth(const ListHealth&) = delete;
    ListHealth& operator=(const ListHealth&) = delete;

    bool enabled() const { return interval_ > 0; }

    // A lookup for this domain is starting; a new domain is checked at once.
    void note_used(const std::string& domain);
    bool disabled(const std::string& domain) const;
    // The first check of the domain is still running.
    bool pending(const std::string& domain) const;
    // Runs fn when the first check of the domain is done (at once if it is).
    void defer(const std::string& domain, std::function<void()> fn);
    // A lookup got only 127.255.255.x answers: disable now (detail is logged).
    void report_refusal(const std::string& domain, const std::string& detail);

    // Statistics for tests.
    std::uint64_t probes() const { return probes_; }

private:
    struct State {
        bool disabled = false;
        bool pending = false; // first check running
        bool probing = false;
        bool warned_127_0_0_2 = false;
        std::chrono::steady_clock::time_point last_used;
        std::vector<std::function<void()>> deferred;
    };
    struct Probe;

    void probe(const std::string& domain);
    void verdict(const std::string& domain, const Probe& probe);
    void disable(State& state, const std::string& domain, const std::string& why);
    void arm_timer();
    void tick();

    boost::asio::io_context& io_;
    DnsClient& dns_;
    int interval_;
    boost::asio::steady_timer timer_;
    std::unordered_map<std::string, State> domains_;
    std::uint64_t probes_ = 0;
    bool full_warned_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace psm::dnsblog
