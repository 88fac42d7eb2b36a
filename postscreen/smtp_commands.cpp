// The SMTP engine's command handlers (stock 3.7 postscreen_smtpd.c replies,
// ../shared/spec/postscreen.md §4.2-§4.3) and its EHLO response.
#include "smtp_commands.hpp"

#include "engine_text.hpp"
#include "lookup_maps.hpp"
#include "smtp_address.hpp"
#include "smtp_engine.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

namespace psm::postscreen {

namespace smtp_commands {

std::optional<Verb> find_verb(std::string_view token) {
    for (std::size_t i = 0; i < kCommands.size(); ++i)
        if (iequals(token, kCommands[i].name)) return static_cast<Verb>(i);
    return std::nullopt;
}

} // namespace smtp_commands

using namespace smtp_commands;

namespace {

// The next SP-separated word of the arguments, if any.
std::optional<std::string_view> next_token(std::string_view args) {
    std::size_t begin = args.find_first_not_of(' ');
    if (begin == std::string_view::npos) return std::nullopt;
    std::size_t stop = args.find(' ', begin);
    return args.substr(begin, stop == std::string_view::npos ? std::string_view::npos : stop - begin);
}

// The EHLO response without the keywords in `discard` (lines joined by
// CRLF, the last one with "250 ").
std::string ehlo_response(const EngineSettings& s, unsigned discard) {
    std::string out = "250-" + s.myhostname;
    std::size_t last = 0;
    auto add = [&](std::string_view keyword) {
        out += "\r\n";
        last = out.size();
        out += "250-";
        out += keyword;
    };
    if ((discard & ehlo::kSize) == 0)
        add(s.message_size_limit > 0 ? "SIZE " + std::to_string(static_cast<unsigned long>(s.message_size_limit))
                                     : std::string("SIZE"));
    if ((discard & ehlo::kVrfy) == 0 && !s.vrfy_keyword_disabled) add("VRFY");
    if ((discard & ehlo::kEtrn) == 0) add("ETRN");
    if ((discard & ehlo::kStarttls) == 0 && s.use_tls) add("STARTTLS");
    if ((discard & ehlo::kEnhancedStatusCodes) == 0) add("ENHANCEDSTATUSCODES");
    if ((discard & ehlo::k8bitmime) == 0) add("8BITMIME");
    if ((discard & ehlo::kDsn) == 0) add("DSN");
    if (s.smtputf8 && (discard & ehlo::kSmtputf8) == 0) add("SMTPUTF8");
    if ((discard & ehlo::kChunking) == 0) add("CHUNKING");
    out[last + 3] = ' ';
    return out;
}

} // namespace

SmtpEngine::Step SmtpEngine::execute(Verb verb, std::string_view args) {
    const char* addr = endpoint_.client_addr.c_str();
    const char* port = endpoint_.client_port.c_str();
    Step step;
    auto respond = [&](std::string_view text) {
        step.output = reply(text);
        return step;
    };

    switch (verb) {
    case Verb::helo: {
        auto name = next_token(args); // extra words are ignored
        if (!name) return respond("501 Syntax: HELO hostname");
        helo_name_ = std::string(*name);
        sender_.reset(); // a HELO never downgrades ESMTP
        return respond("250 " + settings_.myhostname);
    }
    case Verb::ehlo: {
        auto name = next_token(args);
        if (!name) return respond("501 Syntax: EHLO hostname");
        helo_name_ = std::string(*name);
        sender_.reset();
        esmtp_ = true;
        // Per-client keyword discarding; a result equal to the static list
        // is the static response, and is not logged.
        if (settings_.ehlo_discard_maps) {
            DictLookup words = settings_.ehlo_discard_maps->find(endpoint_.client_addr);
            unsigned mask = words.found() ? ehlo_mask(words.value) : 0;
            if (words.found() && mask != settings_.ehlo_discard_mask) {
                if (mask != 0 && (mask & ehlo::kSilent) == 0)
                    msg_info("[%s]%s: discarding EHLO keywords: %s", addr, port, ehlo_mask_names(mask).c_str());
                if (using_tls_) mask |= ehlo::kStarttls;
                ehlo_discard_mask_ = mask;
                return respond(ehlo_response(settings_, mask));
            }
            if (words.failed()) msg_fatal("%s lookup error for %s", settings_.ehlo_discard_maps->title().c_str(), addr);
        }
        ehlo_discard_mask_ = settings_.ehlo_discard_mask | (using_tls_ ? ehlo::kStarttls : 0u);
        return respond(ehlo_response(settings_, ehlo_discard_mask_));
    }
    case Verb::starttls:
        if (next_token(args)) return respond("501 Syntax: EHLO hostname"); // sic, 3.7
        if (using_tls_) return respond("554 5.5.1 Error: TLS already active");
        if (!settings_.use_tls || (ehlo_discard_mask_ & ehlo::kStarttls) != 0)
            return respond("502 5.5.1 Error: command not implemented");
        if (!settings_.tlsproxy_ready) return respond("454 4.7.0 TLS not available due to local problem");
        step.next = Step::Next::starttls;
        return step;
    case Verb::mail: {
        if (settings_.helo_required && !helo_name_) return respond("503 5.5.1 Error: send HELO/EHLO first");
        if (sender_) return respond("503 5.5.1 Error: nested MAIL command");
        std::size_t colon = args.find(':');
        if (colon == std::string_view::npos) return respond("501 5.5.4 Syntax: MAIL FROM:<address>");
        sender_ = extract_address(args.substr(colon + 1));
        return respond("250 2.1.0 Ok");
    }
    case Verb::rcpt: {
        if (!sender_) return respond("503 5.5.1 Error: need MAIL command");
        std::size_t colon = args.find(':');
        if (colon == std::string_view::npos) return respond("501 5.5.4 Syntax: RCPT TO:<address>");
        const std::string recipient = extract_address(args.substr(colon + 1));
        if (settings_.address_form == AddressForm::invalid)
            msg_fatal("invalid parameter setting \"info_log_address_format = %s\"",
                      settings_.address_form_value.c_str());
        msg_info("NOQUEUE: reject: RCPT from [%s]:%s: %s; from=<%s>, to=<%s>, proto=%s, helo=<%s>", addr, port,
                 formatter_.soften(state_.rcpt_reply).c_str(), log_address(*sender_, settings_.address_form).c_str(),
                 log_address(recipient, settings_.address_form).c_str(), std::string(protocol()).c_str(),
                 helo_name_ ? helo_name_->c_str() : "");
        return respond(state_.rcpt_reply);
    }
    case Verb::data:
        msg_info("DATA without valid RCPT from [%s]:%s", addr, port);
        if (next_token(args)) return drop("501 5.5.4 Syntax: DATA");
        if (!sender_) return drop("503 5.5.1 Error: need RCPT command");
        return drop("554 5.5.1 Error: no valid recipients");
    case Verb::bdat:
        msg_info("BDAT without valid RCPT from [%s]:%s", addr, port);
        if ((ehlo_discard_mask_ & ehlo::kChunking) != 0) return drop("502 5.5.1 Error: command not implemented");
        if (!next_token(args)) return drop("501 5.5.4 Syntax: BDAT count [LAST]");
        if (!sender_) return drop("554 5.5.1 Error: need MAIL command");
        return drop("554 5.5.1 Error: no valid recipients");
    case Verb::rset:
        sender_.reset();
        return respond("250 2.0.0 Ok");
    case Verb::noop:
        return respond("250 2.0.0 Ok");
    case Verb::vrfy:
        if (!next_token(args)) return respond("501 5.5.4 Syntax: VRFY address");
        if (settings_.vrfy_command_disabled) return respond("502 5.5.1 VRFY command is disabled");
        return respond(state_.rcpt_reply);
    case Verb::etrn:
        if (settings_.helo_required && !helo_name_) return respond("503 5.5.1 Error: send HELO/EHLO first");
        if (!next_token(args)) return respond("500 Syntax: ETRN domain");
        return respond("458 Unable to queue messages");
    case Verb::quit:
        return drop("221 2.0.0 Bye");
    case Verb::xclient:
    case Verb::xforward:
    case Verb::auth:
        break; // disabled: answered by the caller
    }
    return respond("502 5.5.2 Error: command not recognized");
}

} // namespace psm::postscreen
