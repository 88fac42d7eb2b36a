// soft_bounce and reply footers for postscreen's replies (see
// reply_formatter.hpp), after stock 3.7's psc_send_reply(),
// global/smtp_reply_footer.c and postscreen_expand.c.
#include "reply_formatter.hpp"

#include "config_text.hpp"
#include "lookup_maps.hpp"

#include "psm/global/mac_expand.hpp"
#include "psm/global/main_cf.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"

#include <cctype>

namespace psm::postscreen {

struct ReplyFormatter::Impl {
    bool soft_bounce = false;
    std::string footer; // postscreen_reject_footer, raw
    std::unique_ptr<LookupMaps> footer_maps;
    std::string filter; // postscreen_expansion_filter, unescaped
    std::string myhostname;
    std::function<std::time_t()> clock;
};

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Length of an enhanced status code "C.SSS.DDD" at the start of text when it
// is followed by a space or the end (Postfix's dsn_valid()), else 0.
std::size_t dsn_length(std::string_view text) {
    if (text.empty() || (text[0] != '2' && text[0] != '4' && text[0] != '5')) return 0;
    std::size_t i = 1;
    for (int part = 0; part < 2; ++part) {
        if (i >= text.size() || text[i] != '.') return 0;
        ++i;
        std::size_t digits = 0;
        while (i < text.size() && is_digit(text[i]) && digits < 4) {
            ++i;
            ++digits;
        }
        if (digits == 0 || digits > 3) return 0;
    }
    if (i < text.size() && text[i] != ' ') return 0;
    return i;
}

std::string local_time_text(std::time_t now) {
    struct tm tm_now {};
    ::localtime_r(&now, &tm_now);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%b %d %H:%M:%S", &tm_now);
    return std::string(buf, n);
}

// Appends the footer template to `reply` (lines joined by CRLF, no final
// CRLF) as smtp_reply_footer() does. Returns false, leaving `reply`
// untouched, when the reply is not well-formed or the template has a syntax
// error (whose warnings are logged).
bool append_footer(std::string& reply, std::string_view tmpl, const MacLookup& lookup, const std::string& filter) {
    std::string out = reply;
    // Every reply line becomes a continuation line.
    std::size_t undo = std::string::npos;
    for (std::size_t line = 0;;) {
        if (out.size() < line + 4 || !is_digit(out[line]) || !is_digit(out[line + 1]) || !is_digit(out[line + 2]) ||
            (out[line + 3] != ' ' && out[line + 3] != '-'))
            return false;
        out[line + 3] = '-';
        undo = line + 3;
        std::size_t crlf = out.find("\r\n", line);
        if (crlf == std::string::npos) break;
        line = crlf + 2;
    }
    const std::string code = out.substr(0, 3);
    const std::size_t dsn_len = dsn_length(std::string_view(out).substr(4));
    const std::string dsn = out.substr(4, dsn_len);

    MacExpandOptions options;
    options.filter = filter;
    for (std::size_t begin = 0, piece_no = 0;; ++piece_no) {
        std::size_t next = tmpl.find("\\n", begin);
        const bool last = next == std::string_view::npos;
        std::string_view piece = tmpl.substr(begin, last ? std::string_view::npos : next - begin);
        if (piece_no == 0 && piece.substr(0, 2) == "\\c") {
            piece.remove_prefix(2); // continue the last reply line
        } else {
            out += "\r\n";
            out += code;
            out += last ? ' ' : '-';
            if (dsn_len > 0) {
                out += dsn;
                out += ' ';
            }
            undo = std::string::npos;
        }
        MacExpandResult expanded = mac_expand(piece, lookup, options);
        if (!expanded.ok()) {
            for (const std::string& e : expanded.errors)
                msg_warn("%s", e.c_str());
            return false;
        }
        out += expanded.text;
        if (last) break;
        begin = next + 2;
    }
    if (undo != std::string::npos) out[undo] = ' ';
    reply = std::move(out);
    return true;
}

} // namespace

ReplyFormatter::ReplyFormatter() : impl_(std::make_shared<Impl>()) {}

ReplyFormatter ReplyFormatter::from_config(const Config& config) {
    ReplyFormatter f;
    Impl& impl = *f.impl_;
    impl.soft_bounce = config.get_bool("soft_bounce");
    impl.myhostname = config.get_str("myhostname");
    impl.footer = raw_parameter(config, "postscreen_reject_footer");
    std::string filter = raw_parameter(config, "postscreen_expansion_filter");
    if (filter.empty()) throw ConfigError("bad string length 0 < 1: postscreen_expansion_filter = ");
    impl.filter = unescape(filter);
    std::string maps = config.get_str("postscreen_reject_footer_maps");
    if (!maps.empty()) {
        DictOpenOptions options;
        options.allow_surrogate = true;
        options.utf8 = config.get_bool("smtputf8_enable");
        impl.footer_maps = std::make_unique<LookupMaps>("smtpd_reject_footer_maps", maps, options);
    }
    return f;
}

bool ReplyFormatter::soft_bounce() const {
    return impl_->soft_bounce;
}

void ReplyFormatter::set_clock(std::function<std::time_t()> clock) {
    impl_->clock = std::move(clock);
}

std::string ReplyFormatter::soften(std::string_view reply) const {
    std::string out(reply);
    if (impl_->soft_bounce) {
        if (!out.empty() && out[0] == '5') out[0] = '4';
        if (out.size() > 4 && out[4] == '5') out[4] = '4';
    }
    return out;
}

std::string ReplyFormatter::format(std::string_view reply, const ClientEndpoint& endpoint) const {
    if (reply.size() >= 2 && reply.substr(reply.size() - 2) == "\r\n") reply.remove_suffix(2);
    std::string out = soften(reply);
    if (!reply.empty() && (reply[0] == '4' || reply[0] == '5')) {
        std::string tmpl;
        if (impl_->footer_maps) {
            DictLookup found = impl_->footer_maps->find(reply);
            if (found.found()) tmpl = std::move(found.value);
        }
        if (tmpl.empty()) tmpl = impl_->footer;
        if (!tmpl.empty()) {
            const Impl& impl = *impl_;
            MacLookup lookup = [&impl, &endpoint](std::string_view name, MacMode) -> std::optional<std::string> {
                if (name == "server_name") return impl.myhostname;
                if (name == "client_address") return endpoint.client_addr;
                if (name == "client_port") return endpoint.client_port;
                if (name == "localtime") return local_time_text(impl.clock ? impl.clock() : std::time(nullptr));
                msg_warn("unknown macro name \"%s\" in expansion request", std::string(name).c_str());
                return std::nullopt;
            };
            append_footer(out, tmpl, lookup, impl_->filter);
        }
    }
    out += "\r\n";
    return out;
}

} // namespace psm::postscreen
