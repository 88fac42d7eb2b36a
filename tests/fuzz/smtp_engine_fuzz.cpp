// Fuzz target: postscreen's built-in SMTP engine fed a client's byte stream
// as the core feeds it (LineBuffer splitting into lines with the pipelining
// "pending" bytes, the length limit, STARTTLS, the end of the session).
// Input: byte 0 chooses one of four settings (defaults; deep tests with
// enforce/drop actions and HELO required; small limits, TLS offered,
// discarded EHLO keywords; the same with tlsproxy ready) and the session's
// flags (tests to do, X21, an earlier failure); byte 1 the read size
// (0 = everything in one read); the rest is what the client sends.
#include "fuzz_support.hpp"

#include "reply_formatter.hpp"
#include "session_state.hpp"
#include "smtp_engine.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/util/line_buffer.hpp"

#include <array>
#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace psm::postscreen;

constexpr std::time_t kNow = 1'800'000'000;

struct Variant {
    psm::Config config;
    EngineSettings settings;
    ReplyFormatter formatter;
};

Variant make_variant(const std::vector<std::pair<const char*, const char*>>& params, bool tlsproxy_ready) {
    Variant v;
    v.config.set_override("myhostname", "mx.fuzz.example");
    v.config.set_override("smtpd_banner", "mx.fuzz.example ESMTP Postfix");
    v.config.set_override("compatibility_level", "3.6");
    for (const auto& [name, value] : params)
        v.config.set_override(name, value);
    v.settings = EngineSettings::from_config(v.config);
    v.settings.tlsproxy_ready = tlsproxy_ready;
    v.formatter = ReplyFormatter::from_config(v.config);
    v.formatter.set_clock([] { return kNow; });
    return v;
}

const std::array<Variant, 4>& variants() {
    static const std::array<Variant, 4> all = [] {
        const std::vector<std::pair<const char*, const char*>> deep = {
            {"postscreen_pipelining_enable", "yes"},
            {"postscreen_non_smtp_command_enable", "yes"},
            {"postscreen_bare_newline_enable", "yes"},
            {"postscreen_bare_newline_action", "enforce"},
            {"postscreen_non_smtp_command_action", "enforce"},
            {"postscreen_pipelining_action", "drop"},
            {"postscreen_helo_required", "yes"},
            {"postscreen_disable_vrfy_command", "yes"},
        };
        const std::vector<std::pair<const char*, const char*>> small = {
            {"postscreen_command_count_limit", "5"},
            {"line_length_limit", "512"},
            {"postscreen_tls_security_level", "encrypt"},
            {"postscreen_discard_ehlo_keywords", "pipelining, dsn, silent-discard, 8bitmime"},
            {"smtputf8_enable", "no"},
            {"message_size_limit", "0"},
            {"postscreen_forbidden_commands", "CONNECT, GET, POST, regexp:{{/^[^ ]+:/}}"},
            {"info_log_address_format", "internal"},
        };
        return std::array<Variant, 4>{make_variant({}, false), make_variant(deep, false), make_variant(small, false),
                                      make_variant(small, true)};
    }();
    return all;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    psm::fuzz::quiet_logging();
    psm::fuzz::Input in(data, size);
    const std::uint8_t flags = in.byte();
    const std::size_t read_size = in.byte();
    const Variant& v = variants()[flags & 3];

    SessionState state;
    ClientState client;
    const ClientEndpoint endpoint{"192.0.2.7", "41511", "192.0.2.1", "25"};
    state[Test::pipelining].todo = (flags & 4) != 0;
    state[Test::non_smtp].todo = (flags & 8) != 0;
    state[Test::bare_newline].todo = (flags & 16) != 0;
    state.x21 = (flags & 32) != 0;
    if (flags & 64) state[Test::pregreet].fail = true;

    SmtpEngine engine(v.settings, v.formatter, state, client, endpoint);
    std::string written = engine.start(kNow);
    psm::LineBuffer lines(engine.line_length_limit());
    bool starttls_toggle = (flags & 128) != 0;
    bool over = false;

    auto on_line = [&](const psm::Line& line) {
        SmtpEngine::Step step = engine.on_line(line.text, line.end, line.pending, kNow);
        written += step.output;
        if (step.next == SmtpEngine::Step::Next::starttls) {
            written += starttls_toggle ? engine.starttls_ready() : engine.starttls_unavailable();
            starttls_toggle = !starttls_toggle;
        } else if (step.next == SmtpEngine::Step::Next::conclude) {
            over = true;
        }
        return !over;
    };

    std::string_view stream = in.rest();
    while (!over && !stream.empty()) {
        std::size_t n = read_size == 0 ? stream.size() : std::min(read_size, stream.size());
        auto status = lines.consume(stream.substr(0, n), on_line);
        stream.remove_prefix(n);
        if (status == psm::LineBuffer::Status::overflow) {
            written += engine.on_line_too_long().output;
            over = true;
        }
    }
    if (!over) written += engine.on_time_limit().output;
    // Every reply the engine produces is CRLF-terminated text.
    if (!written.empty() && written.back() != '\n') std::abort();
    return 0;
}
