// Every reply postscreen sends through stock's psc_send_reply() path (all
// but the raw "421 4.3.2 No system resources" of an endpoint failure) is
// finished here, as stock 3.7 does (../shared/spec/postscreen.md §4.6):
//   1. soft_bounce = yes: a '5' as first character becomes '4', and,
//      independently, a '5' as fifth character (the enhanced-status class)
//      becomes '4' ("550 5.3.2" -> "450 4.3.2", "501 Syntax" -> "401 Syntax");
//   2. a footer, only when the original reply starts with '4' or '5': the
//      result of postscreen_reject_footer_maps for the original reply text,
//      else postscreen_reject_footer. "\n" in the template starts a new reply
//      line with the reply code and enhanced status code copied, a leading
//      "\c" continues the last line, $client_address $client_port
//      $server_name $localtime expand (filtered by
//      postscreen_expansion_filter), other names warn; a template with a
//      syntax error adds nothing.
#pragma once

#include "client_endpoint.hpp"

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace psm {
class Config;
}

namespace psm::postscreen {

class ReplyFormatter {
public:
    // soft_bounce off, no footer.
    ReplyFormatter();

    // Reads soft_bounce, postscreen_reject_footer (raw text: only a value
    // that is exactly "$name" of a known parameter is replaced, once, by that
    // parameter's raw value - the 3.7 rule that makes the default
    // "$smtpd_reject_footer" work), postscreen_reject_footer_maps (opened now,
    // as a daemon opens tables: an unusable table logs and fails per lookup),
    // postscreen_expansion_filter (C escapes) and myhostname. Throws
    // ConfigError (e.g. a malformed "type:name").
    static ReplyFormatter from_config(const Config& config);

    // reply: "NNN text", or several such lines joined by CRLF, without the
    // final CRLF. Returns the bytes to send, CRLF-terminated, softened and
    // with the footer. A footer lookup error or an unknown macro is logged
    // (warning) as stock logs it.
    std::string format(std::string_view reply, const ClientEndpoint& endpoint) const;

    // soft_bounce only (no footer, no CRLF): the reply text the RCPT reject
    // line logs.
    std::string soften(std::string_view reply) const;

    bool soft_bounce() const;

    // Tests: the clock behind $localtime (default: time()). Shared by copies.
    void set_clock(std::function<std::time_t()> clock);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace psm::postscreen
