// The server-side TLS settings of tlsproxy, read from main.cf as stock
// tlsproxy(8) reads them: tlsproxy_tls_* parameters (defaults $smtpd_tls_*),
// the security level with the legacy use/enforce switches, and the
// TLS-library parameters (cipher lists, curves, session tickets).
#pragma once

#include <string>

namespace psm {
class Config;
}

namespace psm::tlsproxy {

// Postfix's TLS log mask bits (tls_log_mask).
enum TlsLog : unsigned {
    kTlsLogSummary = 1u << 0,
    kTlsLogUntrusted = 1u << 1,
    kTlsLogPeercert = 1u << 2,
    kTlsLogCertmatch = 1u << 3,
    kTlsLogVerbose = 1u << 4,
    kTlsLogCache = 1u << 5,
    kTlsLogDebug = 1u << 6,
    kTlsLogTlsPkts = 1u << 7,
    kTlsLogAllPkts = 1u << 8,
};

// Converts a loglevel value ("0".."9", "none", "routine", "debug", or
// feature names like "summary, cache") to a mask. An unknown word logs
// stock's "unknown PARAM value \"WORD\" in \"TEXT\"" and gives 0.
unsigned tls_log_mask(const std::string& param, const std::string& value);

struct ServerSettings {
    bool enabled = false; // server TLS wanted (level may/encrypt or use_tls)
    bool enforce = false; // level encrypt (mandatory protocols and ciphers)

    std::string cert_file, key_file, dcert_file, dkey_file, eccert_file, eckey_file, chain_files;
    std::string ca_file, ca_path;
    std::string protocols;    // the effective list (mandatory one when enforcing)
    std::string cipher_grade; // ditto
    std::string cipher_exclusions;
    std::string dh1024_param_file;
    std::string fingerprint_digest;
    unsigned log_mask = 0;
    bool ask_ccert = false;
    bool req_ccert = false;
    bool always_issue_session_ids = true;
    int ccert_verifydepth = 9;

    // TLS-library parameters shared by every Postfix TLS program.
    std::string high_cipherlist, medium_cipherlist, low_cipherlist, export_cipherlist, null_cipherlist;
    std::string eecdh_auto_curves;
    bool preempt_cipherlist = false;
    std::string ticket_cipher;
    long session_cache_timeout = 3600;
    std::string ssl_options;
    std::string disable_workarounds;
};

// Reads the settings and logs stock's start-up warnings: an unsupported
// level ("tlsproxy_tls_security_level: unsupported TLS level \"verify\",
// using \"encrypt\""), "TLS server role is disabled with ...", the
// loglevel warning. Throws ConfigError "Invalid TLS level \"x\"" for an
// unknown level, as stock's fatal.
ServerSettings read_server_settings(const Config& config);

} // namespace psm::tlsproxy
