// read_settings(): parameters to Settings (settings.hpp).
#include "settings.hpp"

#include <algorithm>
#include <climits>

namespace psm::dnsblog {

namespace {

int clamp_int(long value) {
    return static_cast<int>(std::clamp<long>(value, 0, INT_MAX));
}

} // namespace

Settings read_settings(const Config& config) {
    Settings s;
    s.sites = config.get_str("postscreen_dnsbl_sites");
    s.min_ttl = clamp_int(config.get_time("postscreen_dnsbl_min_ttl"));
    s.max_ttl = clamp_int(config.get_time("postscreen_dnsbl_max_ttl"));
    s.deadline = std::chrono::seconds(config.get_time("postscreen_dnsbl_timeout"));
    s.reply_delay = std::chrono::seconds(config.get_time("dnsblog_reply_delay"));
    s.idle_timeout = std::chrono::seconds(config.get_time("ipc_timeout"));
    s.resolver = read_resolv_conf(config.get_str("dnsblog_resolv_conf"));
    auto servers = parse_nameservers(config.get_str("dnsblog_nameservers"));
    if (!servers.empty()) s.resolver.servers = std::move(servers);
    s.cache_size = static_cast<std::size_t>(std::max(0L, config.get_int("dnsblog_cache_size")));
    s.health_interval = clamp_int(config.get_time("dnsblog_health_check_interval"));
    s.query_concurrency = static_cast<std::size_t>(std::max(1L, config.get_int("dnsblog_query_concurrency")));
    s.queue_limit = static_cast<std::size_t>(std::max(0L, config.get_int("dnsblog_queue_limit")));
    return s;
}

} // namespace psm::dnsblog
