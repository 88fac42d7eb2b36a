// postscreen's built-in SMTP engine (the "tests after SMTP handshake"), as a
// socket-free state machine that behaves like stock 3.7's postscreen_smtpd.c
// (../shared/spec/postscreen.md §1.6, §1.10, §2.3, §4.2-§4.4): the deep
// protocol tests (pipelining, non-SMTP command, bare newline), the command
// table and replies, the RCPT reject logging, the command count limit, and
// the reports for the command time and length limits.
//
// The core owns the socket. It reads lines with psm::AsioLineReader
// (line_length_limit(), 4096-byte reads: the pipelining test needs "bytes of
// the same read after this line") and:
//   * calls start() when the session enters the engine (and restarts its
//     phase clock: HANGUP then says "in tests after SMTP handshake"), writes
//     the result, and arms the command timer with command_time_limit();
//   * calls on_line() for every line, writes Step::output, and on
//     Next::read re-arms the command timer (stock re-arms after every
//     command); on Next::conclude runs the conclusion (PASS NEW/OLD, cache
//     update, then - unless hangup - sends formatter.format(final_reply) and
//     logs DISCONNECT). A drop never puts its reply in Step::output: it sets
//     state.noforward and state.final_reply. QUIT is a drop with
//     "221 2.0.0 Bye";
//   * calls on_time_limit() when the timer fires, on_line_too_long() when the
//     reader overflows; both end the session the same way;
//   * on EOF or a read/write error: HANGUP, as for any phase (not here).
// The engine logs its own lines with psm::msg_info.
//
// STARTTLS seam: the engine answers STARTTLS as stock does when TLS is not
// offered (502) or cannot be started ("454 4.7.0 TLS not available due to
// local problem"). Once the core can run tlsproxy it sets
// EngineSettings::tlsproxy_ready; on_line() then returns Next::starttls for
// an acceptable STARTTLS (nothing written yet), and the core finishes with
// starttls_ready() (TLS is on: write its result, then hand the socket to
// tlsproxy) or starttls_unavailable().
#pragma once

#include "client_endpoint.hpp"
#include "reply_formatter.hpp"
#include "session_state.hpp"
#include "smtp_address.hpp"

#include "psm/util/line_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace psm {
class Config;
class Dict;
} // namespace psm

namespace psm::postscreen {

class LookupMaps;
class StringMatchList;
namespace smtp_commands {
enum class Verb : std::size_t;
}

// Built once at start-up; shared (read-only) by every session's engine.
struct EngineSettings {
    // Throws ConfigError with stock's fatal wording: a bad action word
    // ("bad postscreen_pipelining_action value: x"), "Invalid TLS level
    // \"x\"", a parameter value or range, a malformed table name. Logs
    // "postscreen_tls_security_level: unsupported TLS level ..." for
    // secure/verify/fingerprint (treated as encrypt).
    static EngineSettings from_config(const Config& config);

    std::string myhostname;
    std::string greeting;      // "220 <smtpd_banner>"
    std::string timeout_reply; // "421 4.4.2 <myhostname> Error: timeout exceeded"
    std::string generic_421;   // "421 <myhostname> Service unavailable - try again later"

    Action pipelining_action = Action::enforce;
    Action non_smtp_action = Action::drop;
    Action bare_newline_action = Action::ignore;
    long pipelining_ttl = 30 * 86400; // seconds
    long non_smtp_ttl = 30 * 86400;
    long bare_newline_ttl = 30 * 86400;
    // Smallest of the five tests' TTLs (greet_ttl, dnsbl_min_ttl and the
    // three above): the "pass" stamp of a deep test failed with ignore.
    long min_ttl = 60;

    int command_count_limit = 20;
    long command_time_limit_normal = 300; // postscreen_command_time_limit, stress=""
    long command_time_limit_stress = 10;  // same with stress=yes
    std::size_t line_length_limit = 2048;

    bool helo_required = false;         // postscreen_helo_required
    bool vrfy_command_disabled = false; // postscreen_disable_vrfy_command (the command)
    bool vrfy_keyword_disabled = false; // disable_vrfy_command (the EHLO keyword)
    long message_size_limit = 10240000;
    bool smtputf8 = true;        // smtputf8_enable
    bool use_tls = false;        // STARTTLS offered (level may/encrypt, or use/enforce_tls)
    bool enforce_tls = false;    // STARTTLS required (level encrypt, or enforce_tls)
    bool tlsproxy_ready = false; // set by the core once STARTTLS can go to tlsproxy

    unsigned ehlo_discard_mask = 0;                      // postscreen_discard_ehlo_keywords
    std::shared_ptr<LookupMaps> ehlo_discard_maps;       // ..._keyword_address_maps, or null
    std::shared_ptr<Dict> command_filter;                // postscreen_command_filter, or null
    std::shared_ptr<StringMatchList> forbidden_commands; // or null when empty

    // invalid: like stock, the first RCPT line to log dies with
    // "fatal: invalid parameter setting \"info_log_address_format = X\"".
    AddressForm address_form = AddressForm::external;
    std::string address_form_value; // as configured
};

class SmtpEngine {
public:
    SmtpEngine(const EngineSettings& settings, const ReplyFormatter& formatter, SessionState& state,
               ClientState& client, const ClientEndpoint& endpoint);

    struct Step {
        std::string output; // formatted replies to write now
        enum class Next { read, conclude, starttls } next = Next::read;
    };

    // Start of the engine: X21 switches the deep tests off; an earlier
    // failure switches all three on (opportunistic); returns the formatted
    // "220 <smtpd_banner>" - or nothing after a pregreet failure.
    std::string start(std::time_t now);

    // One complete line without its terminator; `pending` = the bytes that
    // came in the same read after it (the pipelining test).
    Step on_line(std::string_view line, psm::LineEnd end, std::string_view pending, std::time_t now);

    Step on_time_limit();    // logs COMMAND TIME LIMIT, drops with the timeout reply
    Step on_line_too_long(); // logs COMMAND LENGTH LIMIT, drops with the generic 421

    // STARTTLS seam (see above).
    std::string starttls_ready();       // TLS active, helo/sender forgotten; "220 2.0.0 Ready to start TLS"
    std::string starttls_unavailable(); // "454 4.7.0 TLS not available due to local problem"

    // Seconds; the stress value while postscreen is in STRESS mode.
    long command_time_limit(bool stressed) const;
    std::size_t line_length_limit() const;

    // Observers (tests, debugging).
    std::string_view where() const { return where_; }
    const std::optional<std::string>& helo_name() const { return helo_name_; }
    const std::optional<std::string>& sender() const { return sender_; }
    std::string_view protocol() const { return esmtp_ ? "ESMTP" : "SMTP"; }
    int command_count() const { return command_count_; }
    bool finished() const { return finished_; }

private:
    // The command handlers (smtp_commands.cpp).
    Step execute(smtp_commands::Verb verb, std::string_view args);
    std::string reply(std::string_view text) const;
    Step drop(std::string_view reply);
    void enforce(std::string_view reply);
    // A deep test's finding: FAIL (stamp 1, decided for this session), then
    // the action (enforce: 550 at RCPT; ignore: PASS until min_ttl). Returns
    // true when the action is drop.
    bool fail_deep_test(Test test, Action action, std::time_t now);

    const EngineSettings& settings_;
    const ReplyFormatter& formatter_;
    SessionState& state_;
    ClientState& client_;
    const ClientEndpoint& endpoint_;

    std::string_view where_ = "CONNECT";
    std::optional<std::string> helo_name_;
    std::optional<std::string> sender_;
    unsigned ehlo_discard_mask_ = 0;
    int command_count_ = 0;
    bool esmtp_ = false;
    bool using_tls_ = false;
    bool finished_ = false;
};

} // namespace psm::postscreen
