// Scanning and judging the postscreen -> tlsproxy request.
#include "request.hpp"

namespace psm::tlsproxy {

std::optional<Request> scan_request(const AttrList& list) {
    Request r;
    AttrScanResult result = attr_scan(list, "plaintext", kAttrFlagStrict,
                                      {
                                          attr::recv_str("remote_endpoint", r.remote_endpoint),
                                          attr::recv_int("flags", r.flags),
                                          attr::recv_int("timeout", r.handshake_timeout),
                                          attr::recv_int("timeout", r.session_timeout),
                                          attr::recv_str("serverid", r.serverid),
                                      });
    if (result.conversions != 5) return std::nullopt;
    return r;
}

Verdict judge(const Request& request) {
    const int roles = request.flags & (kFlagServerRole | kFlagClientRole);
    if (roles != kFlagServerRole && roles != kFlagClientRole) return Verdict::bad_flags;
    if (request.flags & ~(kFlagServerRole | kFlagClientRole | kFlagSendContext)) return Verdict::bad_flags;
    if (roles == kFlagClientRole) return Verdict::client_role;
    if (request.flags & kFlagSendContext) return Verdict::context_export;
    return Verdict::serve;
}

const char* direction(int flags) {
    if (flags & kFlagServerRole) return "from";
    if (flags & kFlagClientRole) return "to";
    return "(bogus_direction)";
}

} // namespace psm::tlsproxy
