// Fuzz target: the PROXY protocol v1/v2 header parser (one peek of at most
// 536 bytes), and the warning text made from a failed parse. Input: byte 0
// chooses inet_protocols (bit 0: IPv4, bit 1: IPv6; none means both); the
// rest is the peeked data.
#include "fuzz_support.hpp"

#include "haproxy.hpp"

#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using psm::postscreen::ProxyResult;
    psm::fuzz::quiet_logging();
    psm::fuzz::Input in(data, size);
    const std::uint8_t protocols = in.byte() & 3;
    const bool v4 = protocols == 0 || (protocols & 1);
    const bool v6 = protocols == 0 || (protocols & 2);
    std::string_view peeked = in.rest().substr(0, psm::postscreen::kProxyPeekLimit);

    ProxyResult r = psm::postscreen::parse_proxy_header(peeked, v4, v6);
    switch (r.status) {
    case ProxyResult::Status::ok:
        // The caller consumes exactly the header; it must lie in the peek.
        if (r.consumed == 0 || r.consumed > peeked.size()) std::abort();
        if (r.ep.client_addr.empty() || r.ep.server_addr.empty()) std::abort();
        if (r.ep.client_port.empty() || r.ep.server_port.empty()) std::abort();
        break;
    case ProxyResult::Status::local:
        if (r.consumed == 0 || r.consumed > peeked.size()) std::abort();
        break;
    case ProxyResult::Status::error:
        if (r.error_text.empty()) std::abort();
        (void)psm::postscreen::proxy_warning(r, peeked);
        break;
    }
    return 0;
}
