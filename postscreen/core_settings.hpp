// The configuration of postscreen's core (everything but the SMTP engine and
// the cache store), read once at start-up with stock 3.7's checks and fatal
// wordings: numeric ranges from the parameter registry ("invalid %s: %d (min
// %d)"), action words ("bad %s value: %s"), DNSBL sites and reply map,
// access list and allowlist interfaces, inet_protocols. The one exception is
// postscreen_upstream_proxy_protocol, which stock only rejects at the first
// connection (fatal "unsupported postscreen_upstream_proxy_protocol value").
#pragma once

#include "session_state.hpp"

#include "psm/global/addr_match_list.hpp"
#include "psm/global/dnsbl_site.hpp"
#include "psm/global/main_cf.hpp"
#include "psm/global/server_acl.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace psm::postscreen {

// "ignore", "enforce", "drop" or "continue" (= ignore), exactly; otherwise
// ConfigError "bad NAME value: VALUE".
Action parse_action(const Config& config, std::string_view name);

struct CoreSettings {
    // Throws ConfigError with stock's wording.
    static CoreSettings from_config(const Config& config);

    // ---- services (relative to queue_directory, the daemon's cwd)
    std::string smtpd_service;    // "private/<smtpd_service_name>"
    std::string tlsproxy_service; // "private/<tlsproxy_service_name>"
    std::string dnsblog_service;  // "private/<dnsblog_service_name>"

    // ---- tests
    PscEnabledTests enabled{};  // which of the five tests are on
    std::string teaser;         // "220-<postscreen_greet_banner>\r\n"; empty: no pregreet test
    long greet_wait_normal = 6; // seconds
    long greet_wait_stress = 2; // seconds (same as normal unless stress-dependent)
    Action greet_action = Action::ignore;
    long greet_ttl = 86400;

    DnsblSites dnsbl_sites;
    std::string dnsbl_sites_text; // as configured (sent to dnsblog)
    int dnsbl_threshold = 1;
    int dnsbl_allowlist_threshold = 0;
    Action dnsbl_action = Action::ignore;
    long dnsbl_min_ttl = 60;
    long dnsbl_max_ttl = 3600;
    long dnsbl_timeout = 10;
    std::map<std::string, std::string, std::less<>> dnsbl_reply_names; // domain -> name in replies

    // ---- access
    std::unique_ptr<ServerAcl> access_list; // null: empty postscreen_access_list
    Action denylist_action = Action::ignore;
    std::unique_ptr<AddrMatchList> allowlist_interfaces; // null: every interface is allowed

    // ---- limits
    int connection_count_limit = 50; // 0 = unlimited
    int pre_queue_limit = 100;
    int post_queue_limit = 100;
    int stress_hiwat = 90; // int(0.9 * pre_queue_limit)
    int stress_lowat = 70; // int(0.7 * pre_queue_limit)
    long watchdog_timeout = 10;

    // ---- HAProxy
    std::string proxy_protocol; // "" or, to be checked at the first connection, anything else
    long proxy_timeout = 5;

    // ---- logging and addresses
    bool respectful_logging = true;
    bool warn_compat_respectful = false; // compatibility_level < 3.6 and respectful_logging not set
    int delay_resolution = 2;            // delay_logging_resolution_limit
    bool ipv4 = true, ipv6 = true;       // inet_protocols

    // The name used in DNSBL replies for a domain (postscreen_dnsbl_reply_map).
    const std::string& dnsbl_reply_name(const std::string& domain) const;

    std::chrono::seconds greet_wait(bool stressed) const {
        return std::chrono::seconds(stressed ? greet_wait_stress : greet_wait_normal);
    }
};

} // namespace psm::postscreen
