// dnsblog's configuration, read once at start-up (pre-jail: resolv.conf is
// read before any chroot): stock parameters (dnsblog_reply_delay, the
// postscreen_dnsbl_* defaults for weighted requests that carry none,
// ipc_timeout) and psmaster's own dnsblog_* parameters.
#pragma once

#include "resolver_config.hpp"

#include "psm/global/main_cf.hpp"

#include <chrono>
#include <string>

namespace psm::dnsblog {

struct Settings {
    std::string sites;                         // postscreen_dnsbl_sites
    int min_ttl = 60;                          // postscreen_dnsbl_min_ttl
    int max_ttl = 3600;                        // postscreen_dnsbl_max_ttl
    std::chrono::milliseconds deadline{10000}; // postscreen_dnsbl_timeout
    std::chrono::seconds reply_delay{0};       // dnsblog_reply_delay
    std::chrono::seconds idle_timeout{3600};   // ipc_timeout: idle weighted connection
    ResolverConfig resolver;                   // dnsblog_resolv_conf + dnsblog_nameservers
    std::size_t cache_size = 100000;           // dnsblog_cache_size
    int health_interval = 300;                 // dnsblog_health_check_interval (0 = off)
    std::size_t query_concurrency = 2000;      // dnsblog_query_concurrency
    std::size_t queue_limit = 50000;           // dnsblog_queue_limit
};

// Throws ConfigError with stock's wording for bad values.
Settings read_settings(const Config& config);

} // namespace psm::dnsblog
