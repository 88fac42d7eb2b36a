// Engine: construction, reply delay, the sites cache and the health check
// start (engine.hpp). The request forms are in stock_request.cpp and
// score_request.cpp.
#include "engine.hpp"

#include "psm/global/dnsblog_protocol.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace psm::dnsblog {

namespace {

constexpr std::size_t kSitesCacheSize = 64;

LookupOptions lookup_options(const Settings& s) {
    LookupOptions o;
    o.cache_size = s.cache_size;
    o.concurrency = s.query_concurrency;
    o.queue_limit = s.queue_limit;
    return o;
}

} // namespace

Engine::Engine(boost::asio::io_context& io, Settings settings)
    : io_(io), settings_(std::move(settings)), dns_(io, settings_.resolver),
      health_(io, dns_, settings_.health_interval),
      lookups_(io, dns_, settings_.health_interval > 0 ? &health_ : nullptr, lookup_options(settings_)),
      deadlines_(io, [this](std::uint64_t key, std::uint32_t) { deadline(key); }) {}

Engine::~Engine() {
    *alive_ = false;
}

void Engine::start() {
    if (settings_.health_interval <= 0 || settings_.sites.empty()) return;
    try {
        const DnsblSites sites = DnsblSites::parse(settings_.sites);
        for (const auto& d : sites.domains())
            health_.note_used(d.domain);
    } catch (const ConfigError& e) {
        msg_warn("dnsblog: postscreen_dnsbl_sites: %s", e.what());
    }
}

void Engine::send(Reply reply, std::string bytes) {
    if (settings_.reply_delay.count() <= 0) return reply(std::move(bytes));
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, settings_.reply_delay);
    timer->async_wait([timer, alive = alive_, reply = std::move(reply),
                       bytes = std::move(bytes)](const boost::system::error_code& ec) mutable {
        if (!ec && *alive) reply(std::move(bytes));
    });
}

void Engine::send(Reply reply, const ScoreReply& score) {
    std::string bytes;
    encode_reply(bytes, score);
    send(std::move(reply), std::move(bytes));
}

std::string Engine::error_reply(const std::string& label, const std::string& reason) {
    ScoreReply r;
    r.label = label;
    r.status = ReplyStatus::error;
    r.reason = reason;
    std::string bytes;
    encode_reply(bytes, r);
    return bytes;
}

std::shared_ptr<const DnsblSites> Engine::sites_for(const std::string& spec, std::string* error) {
    if (auto it = sites_cache_.find(spec); it != sites_cache_.end()) return it->second;
    std::shared_ptr<const DnsblSites> sites;
    try {
        sites = std::make_shared<const DnsblSites>(DnsblSites::parse(spec));
    } catch (const ConfigError& e) {
        *error = e.what();
        return nullptr;
    }
    if (sites_cache_.size() >= kSitesCacheSize) sites_cache_.clear();
    sites_cache_.emplace(spec, sites);
    return sites;
}

} // namespace psm::dnsblog
