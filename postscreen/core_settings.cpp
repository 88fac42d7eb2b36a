// CoreSettings::from_config: every core parameter, checked at start-up with
// stock 3.7's wording.
#include "core_settings.hpp"

#include "psm/global/dict.hpp"
#include "psm/global/mac_expand.hpp"
#include "psm/util/error.hpp"
#include "psm/util/text.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace psm::postscreen {

namespace {

// Stock's event-server skeleton checks every parameter of postscreen's
// tables at start-up, used or not; reading them through the typed getters
// gives the same range and syntax errors.
void check_parameter_tables(const Config& config) {
    for (const char* name :
         {"postscreen_greet_wait", "postscreen_greet_ttl", "postscreen_dnsbl_min_ttl", "postscreen_dnsbl_max_ttl",
          "postscreen_dnsbl_timeout", "postscreen_pipelining_ttl", "postscreen_non_smtp_command_ttl",
          "postscreen_bare_newline_ttl", "postscreen_cache_retention_time", "postscreen_cache_cleanup_interval",
          "postscreen_watchdog_timeout", "postscreen_upstream_proxy_timeout", "postscreen_command_time_limit"})
        (void)config.get_time(name);
    for (const char* name :
         {"default_process_limit", "postscreen_dnsbl_threshold", "postscreen_command_count_limit",
          "postscreen_post_queue_limit", "postscreen_pre_queue_limit", "postscreen_client_connection_count_limit",
          "postscreen_dnsbl_allowlist_threshold", "line_length_limit", "delay_logging_resolution_limit"})
        (void)config.get_int(name);
    for (const char* name : {"smtpd_helo_required", "disable_vrfy_command", "postscreen_pipelining_enable",
                             "postscreen_non_smtp_command_enable", "postscreen_bare_newline_enable",
                             "postscreen_helo_required", "postscreen_disable_vrfy_command"})
        (void)config.get_bool(name);
    for (const char* name : {"smtpd_service_name", "smtpd_banner", "postscreen_greet_action", "postscreen_dnsbl_action",
                             "postscreen_pipelining_action", "postscreen_non_smtp_command_action",
                             "postscreen_bare_newline_action", "postscreen_denylist_action"})
        (void)config.get_str(name);
}

// inet_protocols as stock's inet_proto_init(): names ipv4, ipv6, all
// (case-sensitive, as name_mask() without NAME_MASK_ANY_CASE); a protocol
// the kernel lacks is dropped.
void parse_inet_protocols(const Config& config, bool& ipv4, bool& ipv6) {
    const std::string value = config.get_str("inet_protocols");
    ipv4 = ipv6 = false;
    for (const std::string& name : split_tokens(value, ", \t\r\n")) {
        if (name == "all")
            ipv4 = ipv6 = true;
        else if (name == "ipv4")
            ipv4 = true;
        else if (name == "ipv6")
            ipv6 = true;
        else
            throw ConfigError("unknown inet_protocols value \"" + name + "\" in \"" + value + "\"");
    }
    if (ipv6) {
        int fd = ::socket(PF_INET6, SOCK_STREAM, 0);
        if (fd < 0)
            ipv6 = false;
        else
            ::close(fd);
    }
    if (!ipv4 && !ipv6) throw ConfigError("all network protocols are disabled (inet_protocols = " + value + ")");
}

DictOpenOptions daemon_table_options(bool fold_case) {
    DictOpenOptions options;
    options.fold_case = fold_case;
    options.allow_surrogate = true; // as a stock daemon: errors show at lookup time
    return options;
}

} // namespace

Action parse_action(const Config& config, std::string_view name) {
    const std::string value = config.get_str(name);
    if (value == "ignore" || value == "continue") return Action::ignore;
    if (value == "enforce") return Action::enforce;
    if (value == "drop") return Action::drop;
    throw ConfigError("bad " + std::string(name) + " value: " + value);
}

const std::string& CoreSettings::dnsbl_reply_name(const std::string& domain) const {
    auto it = dnsbl_reply_names.find(domain);
    return it == dnsbl_reply_names.end() ? domain : it->second;
}

CoreSettings CoreSettings::from_config(const Config& config) {
    CoreSettings s;
    check_parameter_tables(config);
    parse_inet_protocols(config, s.ipv4, s.ipv6);

    // Tables, opened before the jail as stock's pre_jail_init does.
    if (std::string value = config.get_str("postscreen_allowlist_interfaces"); !value.empty() && value != "static:all")
        s.allowlist_interfaces =
            std::make_unique<AddrMatchList>("postscreen_allowlist_interfaces", value, daemon_table_options(true));
    if (std::string acl = config.get_str("postscreen_access_list"); !acl.empty())
        s.access_list = std::make_unique<ServerAcl>(acl, config.get_str("mynetworks"), "postscreen_access_list",
                                                    daemon_table_options(true));

    s.smtpd_service = "private/" + config.get_str("smtpd_service_name");
    s.tlsproxy_service = "private/" + config.get_str("tlsproxy_service_name");
    s.dnsblog_service = "private/" + config.get_str("dnsblog_service_name");

    // DNSBL sites and the reply map (stock's psc_dnsbl_init).
    s.dnsbl_sites_text = config.get_str("postscreen_dnsbl_sites");
    s.dnsbl_sites = DnsblSites::parse(s.dnsbl_sites_text);
    if (std::string map = config.get_str("postscreen_dnsbl_reply_map"); !map.empty()) {
        std::unique_ptr<Dict> dict = dict_open(map, daemon_table_options(false));
        for (const DnsblDomain& d : s.dnsbl_sites.domains()) {
            DictLookup found = dict->lookup(d.domain);
            if (found.failed()) throw ConfigError(dict->name() + " lookup error");
            if (found.found()) s.dnsbl_reply_names.emplace(d.domain, found.value);
        }
    }
    s.dnsbl_threshold = static_cast<int>(config.get_int("postscreen_dnsbl_threshold"));
    s.dnsbl_allowlist_threshold = static_cast<int>(config.get_int("postscreen_dnsbl_allowlist_threshold"));
    s.dnsbl_min_ttl = config.get_time("postscreen_dnsbl_min_ttl");
    s.dnsbl_max_ttl = config.get_time("postscreen_dnsbl_max_ttl");
    s.dnsbl_timeout = config.get_time("postscreen_dnsbl_timeout");

    // Early tests.
    if (std::string banner = config.get_str("postscreen_greet_banner"); !banner.empty())
        s.teaser = "220-" + banner + "\r\n";
    s.greet_wait_normal = config.get_time("postscreen_greet_wait", {{"stress", ""}});
    s.greet_wait_stress = config.get_time("postscreen_greet_wait", {{"stress", "yes"}});
    s.greet_ttl = config.get_time("postscreen_greet_ttl");

    s.enabled[index_of(Test::pregreet)] = !s.teaser.empty();
    s.enabled[index_of(Test::dnsbl)] = !s.dnsbl_sites.empty();
    s.enabled[index_of(Test::pipelining)] = config.get_bool("postscreen_pipelining_enable");
    s.enabled[index_of(Test::non_smtp)] = config.get_bool("postscreen_non_smtp_command_enable");
    s.enabled[index_of(Test::bare_newline)] = config.get_bool("postscreen_bare_newline_enable");

    // Action words, in stock's order (the deep tests' are the engine's).
    s.denylist_action = parse_action(config, "postscreen_denylist_action");
    s.dnsbl_action = parse_action(config, "postscreen_dnsbl_action");
    s.greet_action = parse_action(config, "postscreen_greet_action");

    // Limits.
    s.connection_count_limit = static_cast<int>(config.get_int("postscreen_client_connection_count_limit"));
    s.pre_queue_limit = static_cast<int>(config.get_int("postscreen_pre_queue_limit"));
    s.post_queue_limit = static_cast<int>(config.get_int("postscreen_post_queue_limit"));
    s.stress_hiwat = static_cast<int>(0.9 * s.pre_queue_limit);
    s.stress_lowat = static_cast<int>(0.7 * s.pre_queue_limit);
    s.watchdog_timeout = config.get_time("postscreen_watchdog_timeout");

    s.proxy_protocol = config.get_str("postscreen_upstream_proxy_protocol");
    s.proxy_timeout = config.get_time("postscreen_upstream_proxy_timeout");

    // respectful_logging and its compatibility warning (stock 3.6+).
    s.respectful_logging = config.get_bool("respectful_logging");
    const Config::Source source = config.source("respectful_logging");
    if (source != Config::Source::main_cf && source != Config::Source::override) {
        std::optional<long> level = compat_level_from_string(config.get_str("compatibility_level"));
        std::optional<long> v36 = compat_level_from_string("3.6");
        s.warn_compat_respectful = level && v36 && *level < *v36;
    }
    s.delay_resolution = static_cast<int>(config.get_int("delay_logging_resolution_limit"));
    return s;
}

} // namespace psm::postscreen
