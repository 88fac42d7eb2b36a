// The parameter registry's data: name, type, limits and the stock Postfix
// 3.7 default text as `postconf -d` prints it (checked byte for byte by
// tests/integration/test_psconf_defaults.py). Keep rows sorted by name
// within each section.
#include "psm/global/parameters.hpp"

#include <algorithm>
#include <vector>

#include "parameter_defaults.hpp"

namespace psm {
namespace {

constexpr ParamInfo make(std::string_view name, ParamType type, std::string_view def, long min, long max, char unit = 0,
                         ParamDefaultFn compute = nullptr) {
    ParamInfo p;
    p.name = name;
    p.type = type;
    p.default_value = def;
    p.compute = compute;
    p.min = min;
    p.max = max;
    p.time_unit = unit;
    return p;
}

// Limits: 0 means "no limit", as in stock's tables; for strings they are
// lengths, for times seconds.
constexpr ParamInfo string_param(std::string_view n, std::string_view d, long min = 0, long max = 0) {
    return make(n, ParamType::string, d, min, max);
}
constexpr ParamInfo raw_param(std::string_view n, std::string_view d, long min = 0, long max = 0) {
    return make(n, ParamType::raw, d, min, max);
}
constexpr ParamInfo int_param(std::string_view n, std::string_view d, long min = 0, long max = 0) {
    return make(n, ParamType::integer, d, min, max);
}
constexpr ParamInfo long_param(std::string_view n, std::string_view d, long min = 0, long max = 0) {
    return make(n, ParamType::long_integer, d, min, max);
}
constexpr ParamInfo bool_param(std::string_view n, std::string_view d) {
    return make(n, ParamType::boolean, d, 0, 0);
}
constexpr ParamInfo time_param(std::string_view n, std::string_view d, char unit, long min, long max) {
    return make(n, ParamType::time, d, min, max, unit);
}
constexpr ParamInfo computed_param(std::string_view n, ParamDefaultFn fn, long min, long max) {
    return make(n, ParamType::string, {}, min, max, 0, fn);
}

// clang-format off
const ParamInfo kParameters[] = {
    // ---- Stock Postfix 3.7 parameters read by master, postscreen, dnsblog,
    // ---- tlsproxy and the shared libraries.
    time_param("application_event_drain_time", "100s", 's', 1, 0),
    int_param("berkeley_db_create_buffer_size", "16777216", 1, 0),
    int_param("berkeley_db_read_buffer_size", "131072", 1, 0),
    string_param("command_directory", "/usr/sbin", 1, 0),
    string_param("compatibility_level", "0", 1, 0),
    string_param("config_directory", "/etc/postfix", 1, 0),
    string_param("daemon_directory", "/usr/lib/postfix/sbin", 1, 0),
    time_param("daemon_timeout", "18000s", 's', 1, 0),
    string_param("data_directory", "/var/lib/postfix", 1, 0),
    int_param("debug_peer_level", "2", 1, 0),
    string_param("debug_peer_list", ""),
    string_param("default_database_type", "hash", 1, 0),
    int_param("default_process_limit", "100", 1, 0),
    int_param("delay_logging_resolution_limit", "2", 0, 6),
    bool_param("disable_vrfy_command", "no"),
    bool_param("dns_ncache_ttl_fix_enable", "no"),
    time_param("dnsblog_reply_delay", "0s", 's', 0, 0),
    string_param("dnsblog_service_name", "dnsblog", 1, 0),
    bool_param("helpful_warnings", "yes"),
    string_param("import_environment", "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME"),
    string_param("inet_interfaces", "all", 1, 0),
    string_param("inet_protocols", "all"),
    string_param("info_log_address_format", "external", 1, 0),
    time_param("ipc_idle", "5s", 's', 1, 0),
    time_param("ipc_timeout", "3600s", 's', 1, 0),
    time_param("ipc_ttl", "1000s", 's', 1, 0),
    string_param("known_tcp_ports", "lmtp=24, smtp=25, smtps=submissions=465, submission=587"),
    int_param("line_length_limit", "2048", 512, 0),
    string_param("mail_name", "Postfix", 1, 0),
    string_param("mail_owner", "postfix", 1, 0),
    string_param("mail_version", "3.7.11", 1, 0),
    string_param("maillog_file", ""),
    string_param("maillog_file_compressor", "gzip", 1, 0),
    string_param("maillog_file_prefixes", "/var, /dev/stdout", 1, 0),
    string_param("maillog_file_rotate_suffix", "%Y%m%d-%H%M%S", 1, 0),
    string_param("master_service_disable", ""),
    time_param("max_idle", "100s", 's', 1, 0),
    int_param("max_use", "100", 1, 0),
    long_param("message_size_limit", "10240000"),
    string_param("meta_directory", "/etc/postfix", 1, 0),
    string_param("multi_instance_name", ""),
    computed_param("mydomain", default_mydomain, 1, 0),
    computed_param("myhostname", default_myhostname, 1, 0),
    computed_param("mynetworks", default_mynetworks, 0, 0),
    string_param("mynetworks_style", "${{$compatibility_level} <level {2} ? {subnet} : {host}}", 1, 0),
    string_param("myorigin", "$myhostname", 1, 0),
    string_param("parent_domain_matches_subdomains", "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps"),
    string_param("postlog_service_name", "postlog", 1, 0),
    time_param("postlogd_watchdog_timeout", "10s", 's', 1, 0),
    string_param("postscreen_access_list", "permit_mynetworks"),
    string_param("postscreen_allowlist_interfaces", "${postscreen_whitelist_interfaces?{$postscreen_whitelist_interfaces}:{static:all}}"),
    string_param("postscreen_bare_newline_action", "ignore", 1, 0),
    bool_param("postscreen_bare_newline_enable", "no"),
    time_param("postscreen_bare_newline_ttl", "30d", 'd', 1, 0),
    time_param("postscreen_cache_cleanup_interval", "12h", 'h', 0, 0),
    string_param("postscreen_cache_map", "btree:$data_directory/postscreen_cache"),
    time_param("postscreen_cache_retention_time", "7d", 'd', 1, 0),
    int_param("postscreen_client_connection_count_limit", "$smtpd_client_connection_count_limit"),
    int_param("postscreen_command_count_limit", "20", 1, 0),
    string_param("postscreen_command_filter", ""),
    time_param("postscreen_command_time_limit", "${stress?{10}:{300}}s", 's', 1, 0),
    string_param("postscreen_denylist_action", "${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}", 1, 0),
    bool_param("postscreen_disable_vrfy_command", "$disable_vrfy_command"),
    string_param("postscreen_discard_ehlo_keyword_address_maps", "$smtpd_discard_ehlo_keyword_address_maps"),
    string_param("postscreen_discard_ehlo_keywords", "$smtpd_discard_ehlo_keywords"),
    string_param("postscreen_dnsbl_action", "ignore", 1, 0),
    int_param("postscreen_dnsbl_allowlist_threshold", "${postscreen_dnsbl_whitelist_threshold?{$postscreen_dnsbl_whitelist_threshold}:{0}}"),
    time_param("postscreen_dnsbl_max_ttl", "${postscreen_dnsbl_ttl?{$postscreen_dnsbl_ttl}:{1}}h", 'h', 1, 0),
    time_param("postscreen_dnsbl_min_ttl", "60s", 's', 1, 0),
    string_param("postscreen_dnsbl_reply_map", ""),
    string_param("postscreen_dnsbl_sites", ""),
    int_param("postscreen_dnsbl_threshold", "1", 1, 0),
    time_param("postscreen_dnsbl_timeout", "10s", 's', 1, 0),
    bool_param("postscreen_enforce_tls", "$smtpd_enforce_tls"),
    raw_param("postscreen_expansion_filter", "$smtpd_expansion_filter", 1, 0),
    string_param("postscreen_forbidden_commands", "$smtpd_forbidden_commands"),
    string_param("postscreen_greet_action", "ignore", 1, 0),
    string_param("postscreen_greet_banner", "$smtpd_banner"),
    time_param("postscreen_greet_ttl", "1d", 'd', 1, 0),
    time_param("postscreen_greet_wait", "${stress?{2}:{6}}s", 's', 1, 0),
    bool_param("postscreen_helo_required", "$smtpd_helo_required"),
    string_param("postscreen_non_smtp_command_action", "drop", 1, 0),
    bool_param("postscreen_non_smtp_command_enable", "no"),
    time_param("postscreen_non_smtp_command_ttl", "30d", 'd', 1, 0),
    string_param("postscreen_pipelining_action", "enforce", 1, 0),
    bool_param("postscreen_pipelining_enable", "no"),
    time_param("postscreen_pipelining_ttl", "30d", 'd', 1, 0),
    int_param("postscreen_post_queue_limit", "$default_process_limit", 5, 0),
    int_param("postscreen_pre_queue_limit", "$default_process_limit", 10, 0),
    raw_param("postscreen_reject_footer", "$smtpd_reject_footer"),
    string_param("postscreen_reject_footer_maps", "$smtpd_reject_footer_maps"),
    string_param("postscreen_tls_security_level", "$smtpd_tls_security_level"),
    string_param("postscreen_upstream_proxy_protocol", ""),
    time_param("postscreen_upstream_proxy_timeout", "5s", 's', 1, 0),
    bool_param("postscreen_use_tls", "$smtpd_use_tls"),
    time_param("postscreen_watchdog_timeout", "10s", 's', 10, 0),
    string_param("process_id_directory", "pid", 1, 0),
    string_param("proxy_interfaces", ""),
    string_param("queue_directory", "/var/spool/postfix", 1, 0),
    bool_param("respectful_logging", "${{$compatibility_level} <level {3.6} ? {no} : {yes}}"),
    time_param("service_throttle_time", "60s", 's', 1, 0),
    string_param("setgid_group", "postdrop", 1, 0),
    string_param("shlib_directory", "/usr/lib/postfix", 1, 0),
    string_param("smtpd_banner", "$myhostname ESMTP $mail_name", 1, 0),
    int_param("smtpd_client_connection_count_limit", "50"),
    string_param("smtpd_command_filter", ""),
    string_param("smtpd_discard_ehlo_keyword_address_maps", ""),
    string_param("smtpd_discard_ehlo_keywords", ""),
    bool_param("smtpd_enforce_tls", "no"),
    raw_param("smtpd_expansion_filter", "\\t\\40!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~", 1, 0),
    string_param("smtpd_forbidden_commands", "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}"),
    bool_param("smtpd_helo_required", "no"),
    raw_param("smtpd_reject_footer", ""),
    string_param("smtpd_reject_footer_maps", ""),
    string_param("smtpd_service_name", "smtpd", 1, 0),
    string_param("smtpd_tls_CAfile", ""),
    string_param("smtpd_tls_CApath", ""),
    bool_param("smtpd_tls_always_issue_session_ids", "yes"),
    bool_param("smtpd_tls_ask_ccert", "no"),
    bool_param("smtpd_tls_auth_only", "no"),
    int_param("smtpd_tls_ccert_verifydepth", "9"),
    string_param("smtpd_tls_cert_file", ""),
    string_param("smtpd_tls_chain_files", ""),
    string_param("smtpd_tls_ciphers", "medium"),
    string_param("smtpd_tls_dcert_file", ""),
    string_param("smtpd_tls_dh1024_param_file", ""),
    string_param("smtpd_tls_dh512_param_file", ""),
    string_param("smtpd_tls_dkey_file", "$smtpd_tls_dcert_file"),
    string_param("smtpd_tls_eccert_file", ""),
    string_param("smtpd_tls_eckey_file", "$smtpd_tls_eccert_file"),
    string_param("smtpd_tls_eecdh_grade", "auto"),
    string_param("smtpd_tls_exclude_ciphers", ""),
    string_param("smtpd_tls_fingerprint_digest", "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}"),
    string_param("smtpd_tls_key_file", "$smtpd_tls_cert_file"),
    string_param("smtpd_tls_loglevel", "0"),
    string_param("smtpd_tls_mandatory_ciphers", "medium"),
    string_param("smtpd_tls_mandatory_exclude_ciphers", ""),
    string_param("smtpd_tls_mandatory_protocols", ">=TLSv1"),
    string_param("smtpd_tls_protocols", ">=TLSv1"),
    bool_param("smtpd_tls_received_header", "no"),
    bool_param("smtpd_tls_req_ccert", "no"),
    string_param("smtpd_tls_security_level", ""),
    string_param("smtpd_tls_session_cache_database", ""),
    time_param("smtpd_tls_session_cache_timeout", "3600s", 's', 0, 0),
    bool_param("smtpd_tls_wrappermode", "no"),
    bool_param("smtpd_use_tls", "no"),
    bool_param("smtputf8_enable", "${{$compatibility_level} <level {1} ? {no} : {yes}}"),
    bool_param("soft_bounce", "no"),
    string_param("stress", ""),
    string_param("syslog_facility", "mail", 1, 0),
    string_param("syslog_name", "${multi_instance_name?{$multi_instance_name}:{postfix}}", 1, 0),
    bool_param("tls_append_default_CA", "no"),
    string_param("tls_config_file", "default"),
    string_param("tls_config_name", ""),
    int_param("tls_daemon_random_bytes", "32", 1, 0),
    string_param("tls_dane_digests", "sha512 sha256"),
    string_param("tls_disable_workarounds", ""),
    string_param("tls_eecdh_auto_curves", "X25519 X448 prime256v1 secp521r1 secp384r1"),
    string_param("tls_eecdh_strong_curve", "prime256v1"),
    string_param("tls_eecdh_ultra_curve", "secp384r1"),
    string_param("tls_export_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH"),
    bool_param("tls_fast_shutdown_enable", "yes"),
    string_param("tls_high_cipherlist", "aNULL:-aNULL:HIGH:@STRENGTH"),
    bool_param("tls_legacy_public_key_fingerprints", "no"),
    string_param("tls_low_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH"),
    string_param("tls_medium_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"),
    string_param("tls_null_cipherlist", "eNULL:!aNULL"),
    bool_param("tls_preempt_cipherlist", "no"),
    int_param("tls_random_bytes", "32", 1, 0),
    string_param("tls_random_exchange_name", "${data_directory}/prng_exch"),
    time_param("tls_random_prng_update_period", "3600s", 's', 1, 0),
    time_param("tls_random_reseed_period", "3600s", 's', 1, 0),
    string_param("tls_random_source", "dev:/dev/urandom"),
    string_param("tls_server_sni_maps", ""),
    string_param("tls_session_ticket_cipher", "aes-256-cbc"),
    string_param("tls_ssl_options", ""),
    bool_param("tls_wildcard_matches_multiple_labels", "yes"),
    bool_param("tlsproxy_enforce_tls", "$smtpd_enforce_tls"),
    string_param("tlsproxy_service_name", "tlsproxy", 1, 0),
    string_param("tlsproxy_tls_CAfile", "$smtpd_tls_CAfile"),
    string_param("tlsproxy_tls_CApath", "$smtpd_tls_CApath"),
    bool_param("tlsproxy_tls_always_issue_session_ids", "$smtpd_tls_always_issue_session_ids"),
    bool_param("tlsproxy_tls_ask_ccert", "$smtpd_tls_ask_ccert"),
    int_param("tlsproxy_tls_ccert_verifydepth", "$smtpd_tls_ccert_verifydepth"),
    string_param("tlsproxy_tls_cert_file", "$smtpd_tls_cert_file"),
    string_param("tlsproxy_tls_chain_files", "$smtpd_tls_chain_files"),
    string_param("tlsproxy_tls_ciphers", "$smtpd_tls_ciphers"),
    string_param("tlsproxy_tls_dcert_file", "$smtpd_tls_dcert_file"),
    string_param("tlsproxy_tls_dh1024_param_file", "$smtpd_tls_dh1024_param_file"),
    string_param("tlsproxy_tls_dh512_param_file", "$smtpd_tls_dh512_param_file"),
    string_param("tlsproxy_tls_dkey_file", "$smtpd_tls_dkey_file"),
    string_param("tlsproxy_tls_eccert_file", "$smtpd_tls_eccert_file"),
    string_param("tlsproxy_tls_eckey_file", "$smtpd_tls_eckey_file"),
    string_param("tlsproxy_tls_eecdh_grade", "$smtpd_tls_eecdh_grade"),
    string_param("tlsproxy_tls_exclude_ciphers", "$smtpd_tls_exclude_ciphers"),
    string_param("tlsproxy_tls_fingerprint_digest", "$smtpd_tls_fingerprint_digest"),
    string_param("tlsproxy_tls_key_file", "$smtpd_tls_key_file"),
    string_param("tlsproxy_tls_loglevel", "$smtpd_tls_loglevel"),
    string_param("tlsproxy_tls_mandatory_ciphers", "$smtpd_tls_mandatory_ciphers"),
    string_param("tlsproxy_tls_mandatory_exclude_ciphers", "$smtpd_tls_mandatory_exclude_ciphers"),
    string_param("tlsproxy_tls_mandatory_protocols", "$smtpd_tls_mandatory_protocols"),
    string_param("tlsproxy_tls_protocols", "$smtpd_tls_protocols"),
    bool_param("tlsproxy_tls_req_ccert", "$smtpd_tls_req_ccert"),
    string_param("tlsproxy_tls_security_level", "$smtpd_tls_security_level"),
    bool_param("tlsproxy_use_tls", "$smtpd_use_tls"),
    time_param("tlsproxy_watchdog_timeout", "10s", 's', 10, 0),

    // ---- psmaster's own parameters (not in stock Postfix). Each is
    // ---- documented in the man pages; add new ones here, sorted by name.
    int_param("dnsblog_cache_size", "100000", 0, 0),
    time_param("dnsblog_health_check_interval", "300s", 's', 0, 0),
    string_param("dnsblog_nameservers", ""),
    int_param("dnsblog_query_concurrency", "2000", 1, 0),
    int_param("dnsblog_queue_limit", "50000", 0, 0),
    string_param("dnsblog_resolv_conf", "/etc/resolv.conf"),
};
// clang-format on

const std::vector<ParamInfo>& sorted_parameters() {
    static const std::vector<ParamInfo> sorted = [] {
        std::vector<ParamInfo> v(std::begin(kParameters), std::end(kParameters));
        std::sort(v.begin(), v.end(), [](const ParamInfo& a, const ParamInfo& b) { return a.name < b.name; });
        return v;
    }();
    return sorted;
}

} // namespace

const ParamInfo* find_parameter(std::string_view name) {
    const auto& v = sorted_parameters();
    auto it =
        std::lower_bound(v.begin(), v.end(), name, [](const ParamInfo& p, std::string_view n) { return p.name < n; });
    return it != v.end() && it->name == name ? &*it : nullptr;
}

std::span<const ParamInfo> all_parameters() {
    return sorted_parameters();
}

} // namespace psm
