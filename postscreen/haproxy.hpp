// The HAProxy PROXY protocol header (v1 text and v2 binary) as stock 3.7
// postscreen parses it (global/haproxy_srvr.c; ../shared/spec/postscreen.md
// §8): a pure function of the bytes of ONE peek of at most kProxyPeekLimit
// bytes - stock reads once, so a header split over two TCP segments fails.
// The caller (the session's endpoint lookup) waits for the first readable
// event within postscreen_upstream_proxy_timeout, peeks, calls
// parse_proxy_header(), then consumes exactly `consumed` bytes. On any
// failure it logs proxy_warning(...) with msg_warn, writes the raw
// "421 4.3.2 No system resources" and closes (no CONNECT line).
#pragma once

#include "client_endpoint.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace psm::postscreen {

// Stock peeks into a 537-byte buffer, leaving room for a NUL.
inline constexpr std::size_t kProxyPeekLimit = 536;

// The two reasons the caller detects itself (logged without peeked bytes).
inline constexpr std::string_view kProxyTimeoutWarning = "haproxy read: time limit exceeded";
inline constexpr std::string_view kProxyEofWarning = "haproxy read: EOF";

struct ProxyResult {
    enum class Status {
        ok,    // ep holds the proxied endpoints
        local, // v2 LOCAL command (health check): use the socket's endpoints
        error, // error_text holds stock's reason
    };
    Status status = Status::error;
    std::size_t consumed = 0; // header length (ok, local)
    ClientEndpoint ep;        // ok only
    std::string error_text;   // error only: stock's reason, e.g. "short protocol header"

    bool ok() const { return status != Status::error; }
};

// `peeked`: the bytes of one MSG_PEEK (callers pass at most kProxyPeekLimit;
// more is ignored). ipv4_enabled/ipv6_enabled: inet_protocols. v1: "PROXY
// TCP4|TCP6 client server cport sport" up to LF (CR and SP separate fields;
// addresses validated and normalised, e.g. 01.02.03.04 -> 1.2.3.4,
// ::FFFF:1.2.3.4 -> 1.2.3.4 when IPv4 is on; ports decimal without leading
// zero). v2: 16-byte header + length; PROXY over TCP4/TCP6 or LOCAL; TLVs
// skipped.
ProxyResult parse_proxy_header(std::string_view peeked, bool ipv4_enabled, bool ipv6_enabled);

// The warning for a failed parse, without "warning: ":
// "haproxy read: <reason>: <every peeked byte, C-escaped>".
std::string proxy_warning(const ProxyResult& result, std::string_view peeked);

} // namespace psm::postscreen
