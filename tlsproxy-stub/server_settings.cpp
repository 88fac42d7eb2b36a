// tlsproxy's server TLS settings from main.cf, with stock's level logic.
#include "server_settings.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace psm::tlsproxy {
namespace {

constexpr unsigned kLog1 = kTlsLogSummary;
constexpr unsigned kLog2 = kLog1 | kTlsLogVerbose | kTlsLogCache | kTlsLogDebug;
constexpr unsigned kLog3 = kLog2 | kTlsLogTlsPkts;
constexpr unsigned kLog4 = kLog3 | kTlsLogAllPkts;

constexpr std::array<std::pair<std::string_view, unsigned>, 24> kLogWords{{
    {"0", 0},
    {"none", 0},
    {"1", kLog1},
    {"routine", kLog1},
    {"2", kLog2},
    {"debug", kLog2},
    {"3", kLog3},
    {"ssl-expert", kLog3},
    {"4", kLog4},
    {"ssl-developer", kLog4},
    {"5", kLog4},
    {"6", kLog4},
    {"7", kLog4},
    {"8", kLog4},
    {"9", kLog4},
    {"summary", kTlsLogSummary},
    {"untrusted", kTlsLogUntrusted},
    {"peercert", kTlsLogPeercert},
    {"certmatch", kTlsLogCertmatch},
    {"verbose", kTlsLogVerbose},
    {"cache", kTlsLogCache},
    {"ssl-debug", kTlsLogDebug},
    {"ssl-handshake-packet-dump", kTlsLogTlsPkts},
    {"ssl-session-packet-dump", kTlsLogTlsPkts | kTlsLogAllPkts},
}};

enum class Level { none, may, encrypt, dane, dane_only, fingerprint, verify, secure };

std::optional<Level> lookup_level(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, Level>, 8> kLevels{{
        {"none", Level::none},
        {"may", Level::may},
        {"encrypt", Level::encrypt},
        {"dane", Level::dane},
        {"dane-only", Level::dane_only},
        {"fingerprint", Level::fingerprint},
        {"verify", Level::verify},
        {"secure", Level::secure},
    }};
    for (const auto& [word, level] : kLevels)
        if (iequals(word, name)) return level;
    return std::nullopt;
}

} // namespace

unsigned tls_log_mask(const std::string& param, const std::string& value) {
    unsigned mask = 0;
    for (const auto& word : split_tokens(value)) {
        bool known = false;
        for (const auto& [name, bits] : kLogWords) {
            if (iequals(name, word)) {
                mask |= bits;
                known = true;
                break;
            }
        }
        if (!known) {
            msg_warn("unknown %s value \"%s\" in \"%s\"", param.c_str(), word.c_str(), value.c_str());
            return 0;
        }
    }
    return mask;
}

ServerSettings read_server_settings(const Config& config) {
    ServerSettings s;
    bool use_tls = config.get_bool("tlsproxy_use_tls");
    bool enforce = config.get_bool("tlsproxy_enforce_tls");
    const std::string level = config.get_str("tlsproxy_tls_security_level");
    if (!level.empty()) {
        auto code = lookup_level(level);
        if (!code || *code == Level::dane || *code == Level::dane_only)
            throw ConfigError("Invalid TLS level \"" + level + "\"");
        switch (*code) {
        case Level::secure:
        case Level::verify:
        case Level::fingerprint:
            msg_warn("%s: unsupported TLS level \"%s\", using \"encrypt\"", "tlsproxy_tls_security_level",
                     level.c_str());
            [[fallthrough]];
        case Level::encrypt:
            use_tls = enforce = true;
            break;
        case Level::may:
            use_tls = true;
            enforce = false;
            break;
        default:
            use_tls = enforce = false;
            break;
        }
    }
    use_tls = use_tls || enforce;
    s.enforce = enforce;

    s.cert_file = config.get_str("tlsproxy_tls_cert_file");
    s.key_file = config.get_str("tlsproxy_tls_key_file");
    s.dcert_file = config.get_str("tlsproxy_tls_dcert_file");
    s.dkey_file = config.get_str("tlsproxy_tls_dkey_file");
    s.eccert_file = config.get_str("tlsproxy_tls_eccert_file");
    s.eckey_file = config.get_str("tlsproxy_tls_eckey_file");
    s.chain_files = config.get_str("tlsproxy_tls_chain_files");
    s.ca_file = config.get_str("tlsproxy_tls_CAfile");
    s.ca_path = config.get_str("tlsproxy_tls_CApath");
    s.protocols = config.get_str(enforce ? "tlsproxy_tls_mandatory_protocols" : "tlsproxy_tls_protocols");
    s.cipher_grade = config.get_str(enforce ? "tlsproxy_tls_mandatory_ciphers" : "tlsproxy_tls_ciphers");
    s.dh1024_param_file = config.get_str("tlsproxy_tls_dh1024_param_file");
    s.fingerprint_digest = config.get_str("tlsproxy_tls_fingerprint_digest");
    s.ask_ccert = config.get_bool("tlsproxy_tls_ask_ccert");
    s.req_ccert = config.get_bool("tlsproxy_tls_req_ccert");
    s.always_issue_session_ids = config.get_bool("tlsproxy_tls_always_issue_session_ids");
    s.ccert_verifydepth = static_cast<int>(config.get_int("tlsproxy_tls_ccert_verifydepth"));

    // Exclusions: always the general list, plus the mandatory one when
    // enforcing, plus aNULL when asking for client certificates.
    auto add_exclusion = [&s](const std::string& more) {
        if (more.empty()) return;
        if (!s.cipher_exclusions.empty()) s.cipher_exclusions += ' ';
        s.cipher_exclusions += more;
    };
    add_exclusion(config.get_str("tlsproxy_tls_exclude_ciphers"));
    if (enforce) add_exclusion(config.get_str("tlsproxy_tls_mandatory_exclude_ciphers"));
    if (s.ask_ccert) add_exclusion("aNULL");

    s.high_cipherlist = config.get_str("tls_high_cipherlist");
    s.medium_cipherlist = config.get_str("tls_medium_cipherlist");
    s.low_cipherlist = config.get_str("tls_low_cipherlist");
    s.export_cipherlist = config.get_str("tls_export_cipherlist");
    s.null_cipherlist = config.get_str("tls_null_cipherlist");
    s.eecdh_auto_curves = config.get_str("tls_eecdh_auto_curves");
    s.preempt_cipherlist = config.get_bool("tls_preempt_cipherlist");
    s.ticket_cipher = config.get_str("tls_session_ticket_cipher");
    s.session_cache_timeout = config.get_time("smtpd_tls_session_cache_timeout");
    s.ssl_options = config.get_str("tls_ssl_options");
    s.disable_workarounds = config.get_str("tls_disable_workarounds");

    if (!use_tls) {
        msg_warn("TLS server role is disabled with %s or %s", "tlsproxy_tls_security_level", "tlsproxy_use_tls");
        return s;
    }
    s.enabled = true;
    s.log_mask = tls_log_mask("tlsproxy_tls_loglevel", config.get_str("tlsproxy_tls_loglevel"));
    return s;
}

} // namespace psm::tlsproxy
