// The SMTP engine's command loop (see smtp_engine.hpp): per line, in stock
// 3.7's order - bare newline test, command filter, tokenising, X21,
// non-SMTP command test, pipelining test, RCPT passes the deep tests,
// command count limit, execution (smtp_commands.cpp).
#include "smtp_engine.hpp"

#include "engine_text.hpp"
#include "smtp_commands.hpp"
#include "string_match_list.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/log.hpp"

namespace psm::postscreen {

using namespace smtp_commands;

namespace {

constexpr std::size_t kLogTextMax = 100;
constexpr std::string_view kProtocolError = "521 5.5.1 Protocol error";
constexpr std::string_view kProtocolErrorEnforce = "550 5.5.1 Protocol error";
constexpr std::string_view kNonSmtpDrop = "521 5.7.0 Error: I can break rules, too. Goodbye.";

std::string cstr(std::string_view s) {
    return std::string(s.substr(0, s.find('\0')));
}

} // namespace

SmtpEngine::SmtpEngine(const EngineSettings& settings, const ReplyFormatter& formatter, SessionState& state,
                       ClientState& client, const ClientEndpoint& endpoint)
    : settings_(settings), formatter_(formatter), state_(state), client_(client), endpoint_(endpoint) {}

long SmtpEngine::command_time_limit(bool stressed) const {
    return stressed ? settings_.command_time_limit_stress : settings_.command_time_limit_normal;
}

std::size_t SmtpEngine::line_length_limit() const {
    return settings_.line_length_limit;
}

std::string SmtpEngine::reply(std::string_view text) const {
    return formatter_.format(text, endpoint_);
}

std::string SmtpEngine::start(std::time_t /*now*/) {
    const Test deep[] = {Test::pipelining, Test::non_smtp, Test::bare_newline};
    if (state_.x21) {
        for (Test t : deep)
            state_[t].todo = false;
    } else if (state_.any_fail()) {
        for (Test t : deep)
            state_[t].todo = true;
    }
    if (state_[Test::pregreet].fail) return {};
    return reply(settings_.greeting);
}

SmtpEngine::Step SmtpEngine::drop(std::string_view reply_text) {
    std::string copy(reply_text); // may alias state_.final_reply
    state_.noforward = true;
    state_.final_reply = std::move(copy);
    finished_ = true;
    Step step;
    step.next = Step::Next::conclude;
    return step;
}

void SmtpEngine::enforce(std::string_view reply_text) {
    state_.rcpt_reply = std::string(reply_text);
    state_.noforward = true;
}

bool SmtpEngine::fail_deep_test(Test test, Action action, std::time_t now) {
    TestFlags& flags = state_[test];
    flags.fail = true;
    flags.pass = false;
    client_.stamps[test] = psm::kStampDisabled;
    flags.done = true; // at most one finding per test and session
    switch (action) {
    case Action::drop:
        return true;
    case Action::enforce:
        enforce(kProtocolErrorEnforce);
        break;
    case Action::ignore:
        // Passed until the shortest TTL of all tests expires.
        flags.fail = false;
        flags.pass = true;
        client_.stamps[test] = now + settings_.min_ttl;
        break;
    }
    return false;
}

SmtpEngine::Step SmtpEngine::on_line(std::string_view line, psm::LineEnd end, std::string_view pending,
                                     std::time_t now) {
    if (finished_) return drop(state_.final_reply);
    const char* addr = endpoint_.client_addr.c_str();
    const char* port = endpoint_.client_port.c_str();

    // Bare newline test, as the line arrives.
    if (end == psm::LineEnd::bare_lf) {
        const TestFlags& t = state_[Test::bare_newline];
        if (t.todo && !t.done) {
            msg_info("BARE NEWLINE from [%s]:%s after %s", addr, port, escape_prefix(line, kLogTextMax).c_str());
            if (fail_deep_test(Test::bare_newline, settings_.bare_newline_action, now)) return drop(kProtocolError);
        }
    }

    // Last-resort command editing (not for malformed UTF-8 with SMTPUTF8 on:
    // the tables would complain). Stock works on C strings: a NUL ends the line.
    std::string text = cstr(line);
    if (settings_.command_filter && !(settings_.smtputf8 && !valid_utf8(line))) {
        std::string_view key = text;
        key.remove_prefix(std::min(key.size(), key.find_first_not_of(" \t")));
        DictLookup found = settings_.command_filter->lookup(key);
        if (found.found()) {
            msg_info("[%s]:%s: replacing command \"%.100s\" with \"%.100s\"", addr, port, text.c_str(),
                     found.value.c_str());
            text = cstr(found.value);
        } else if (found.failed()) {
            msg_fatal("%s lookup error for \"%.100s\"", settings_.command_filter->name().c_str(), text.c_str());
        }
    }

    // The command is the first SP-separated token; args start after the one
    // SP that ends it.
    std::string_view rest = text;
    std::string_view command;
    if (std::size_t begin = rest.find_first_not_of(' '); begin == std::string_view::npos) {
        rest = {};
    } else {
        std::size_t stop = rest.find(' ', begin);
        command = rest.substr(begin, stop == std::string_view::npos ? std::string_view::npos : stop - begin);
        rest = stop == std::string_view::npos ? std::string_view{} : rest.substr(stop + 1);
    }
    const std::string_view saved_where = where_;
    const std::optional<Verb> verb = find_verb(command);
    where_ = verb ? info(*verb).name : kUnimplemented;

    // X21: the first command other than QUIT gets the final reply.
    if (state_.x21 && verb != Verb::quit) return drop(state_.final_reply);

    // Non-SMTP command test: only for commands not in the table.
    if (const TestFlags& t = state_[Test::non_smtp]; t.todo && !t.done && !verb) {
        bool bad = is_header_label(command) || (settings_.smtputf8 && !valid_utf8(command));
        if (!bad && settings_.forbidden_commands)
            bad = settings_.forbidden_commands->match(command) == StringMatch::match; // errors: not a finding
        if (bad) {
            msg_info("NON-SMTP COMMAND from [%s]:%s after %s: %s %s", addr, port, std::string(saved_where).c_str(),
                     printable_prefix(command, kLogTextMax).c_str(), escape_prefix(rest, kLogTextMax).c_str());
            if (fail_deep_test(Test::non_smtp, settings_.non_smtp_action, now)) return drop(kNonSmtpDrop);
        }
    }

    // Pipelining test: more input came in the same read as this command.
    if (const TestFlags& t = state_[Test::pipelining];
        t.todo && !t.done && !pending.empty() && !(verb && info(*verb).has_payload)) {
        msg_info("COMMAND PIPELINING from [%s]:%s after %s: %s", addr, port,
                 printable_prefix(command, kLogTextMax).c_str(), escape_prefix(pending, kLogTextMax).c_str());
        if (fail_deep_test(Test::pipelining, settings_.pipelining_action, now)) return drop(kProtocolError);
    }

    // Reaching RCPT (whatever its syntax) passes the deep tests not yet decided.
    if (verb == Verb::rcpt) {
        const std::pair<Test, long> ttls[] = {{Test::bare_newline, settings_.bare_newline_ttl},
                                              {Test::non_smtp, settings_.non_smtp_ttl},
                                              {Test::pipelining, settings_.pipelining_ttl}};
        for (const auto& [test, ttl] : ttls) {
            TestFlags& t = state_[test];
            if (t.todo && !t.pass && !t.fail) {
                t.pass = true;
                client_.stamps[test] = now + ttl;
            }
        }
    }

    if (++command_count_ > settings_.command_count_limit && verb != Verb::quit) {
        msg_info("COMMAND COUNT LIMIT from [%s]:%s after %s", addr, port, std::string(saved_where).c_str());
        return drop(settings_.generic_421);
    }

    if (!verb || !info(*verb).enabled) {
        Step step;
        step.output = reply("502 5.5.2 Error: command not recognized");
        return step;
    }
    if (settings_.enforce_tls && !using_tls_ && !info(*verb).pre_tls) {
        Step step;
        step.output = reply("530 5.7.0 Must issue a STARTTLS command first");
        return step;
    }
    return execute(*verb, rest);
}

SmtpEngine::Step SmtpEngine::on_time_limit() {
    msg_info("COMMAND TIME LIMIT from [%s]:%s after %s", endpoint_.client_addr.c_str(), endpoint_.client_port.c_str(),
             std::string(where_).c_str());
    return drop(settings_.timeout_reply);
}

SmtpEngine::Step SmtpEngine::on_line_too_long() {
    msg_info("COMMAND LENGTH LIMIT from [%s]:%s after %s", endpoint_.client_addr.c_str(), endpoint_.client_port.c_str(),
             std::string(where_).c_str());
    return drop(settings_.generic_421);
}

std::string SmtpEngine::starttls_ready() {
    using_tls_ = true;
    helo_name_.reset();
    sender_.reset();
    return reply("220 2.0.0 Ready to start TLS");
}

std::string SmtpEngine::starttls_unavailable() {
    return reply("454 4.7.0 TLS not available due to local problem");
}

} // namespace psm::postscreen
