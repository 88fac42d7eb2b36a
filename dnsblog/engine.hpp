// dnsblog's request engine, independent of connections: the DNS client,
// the list health check, the lookups, and the two request forms — stock
// postscreen's per-site request (stock_request.cpp) and psmaster's weighted
// dnsbl_score request (score_request.cpp). Replies go to a callback,
// after dnsblog_reply_delay.
#pragma once

#include "dns_client.hpp"
#include "dnsbl_lookups.hpp"
#include "list_health.hpp"
#include "settings.hpp"
#include "timer_heap.hpp"

#include "psm/global/attr.hpp"
#include "psm/global/dnsbl_site.hpp"
#include "psm/util/rate_limit.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace psm::dnsblog {

struct ScoreReply; // psm/global/dnsblog_protocol.hpp

class Engine {
public:
    // Gets the reply as attr0 bytes, end marker included.
    using Reply = std::function<void(std::string reply)>;

    Engine(boost::asio::io_context& io, Settings settings);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Starts the health check of the lists in dnsblog's own
    // postscreen_dnsbl_sites (after the privilege drop).
    void start();

    // The stock per-site form. Returns false when the request is malformed
    // (stock's scan warning was logged; there will be no reply: close the
    // connection as stock does). `owner` expiring means nobody waits for
    // the reply any more.
    bool stock_request(const AttrList& request, Reply reply, std::weak_ptr<void> owner = {});

    // The weighted form; always replies exactly once (status ok, error or
    // overload), at the latest at the request's deadline.
    void score_request(const AttrList& request, Reply reply);

    // The reply (attr0 bytes) to a list that could not be decoded at all.
    static std::string error_reply(const std::string& label, const std::string& reason);

    const Settings& settings() const { return settings_; }
    DnsClient& dns() { return dns_; }
    ListHealth& health() { return health_; }
    DnsblLookups& lookups() { return lookups_; }
    std::size_t jobs() const { return jobs_.size(); }

    struct ScoreJob;

private:
    void send(Reply reply, std::string bytes);
    void send(Reply reply, const ScoreReply& score); // encoded as attr0
    std::shared_ptr<const DnsblSites> sites_for(const std::string& spec, std::string* error);
    void deadline(std::uint64_t serial);

    boost::asio::io_context& io_;
    Settings settings_;
    DnsClient dns_;
    ListHealth health_;
    DnsblLookups lookups_;
    TimerHeap deadlines_;
    std::unordered_map<std::uint64_t, std::shared_ptr<ScoreJob>> jobs_;
    std::uint64_t next_job_ = 1;
    std::unordered_map<std::string, std::shared_ptr<const DnsblSites>> sites_cache_;
    RateLimit overload_warning_{std::chrono::seconds(10)};
    RateLimit deadline_warning_{std::chrono::seconds(10)};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace psm::dnsblog
