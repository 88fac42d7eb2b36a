// The postscreen -> tlsproxy request of Postfix 3.7 (protocols.md §4):
// exactly remote_endpoint, flags, timeout (handshake), timeout (session),
// serverid, scanned STRICT as stock tlsproxy does, and what the flags ask.
#pragma once

#include "psm/global/attr.hpp"

#include <optional>
#include <string>

namespace psm::tlsproxy {

// Request flag bits (tls_proxy.h).
inline constexpr int kFlagServerRole = 1;
inline constexpr int kFlagClientRole = 2;
inline constexpr int kFlagSendContext = 4;

struct Request {
    std::string remote_endpoint; // "[addr]:port"
    int flags = 0;
    int handshake_timeout = 0; // seconds
    int session_timeout = 0;   // seconds, as sent (tlsproxy adds 10)
    std::string serverid;      // "smtpd": names the service in log lines
};

// Scans one decoded list. Protocol problems are logged by the scanner in
// stock's words ("unexpected attribute X from plaintext (expecting: Y)",
// "missing attribute serverid in input from plaintext"); nullopt when the
// request is unusable.
std::optional<Request> scan_request(const AttrList& list);

// What to do with a well-formed request.
enum class Verdict {
    serve,          // server role: TLS is offered when the engine is ready
    bad_flags,      // no role or both roles: "bad request flags: 0x%x"
    client_role,    // a 3.7 tlsproxy client; this tlsproxy is server-only
    context_export, // flag 4: sending the TLS context is not implemented
};
Verdict judge(const Request& request);

// The direction word stock logs in "CONNECT %s %s".
const char* direction(int flags);

} // namespace psm::tlsproxy
