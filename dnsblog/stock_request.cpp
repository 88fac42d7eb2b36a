// The stock per-site request (protocols.md 3.2/3.3): rbl_domain,
// client_address, label in, the same plus rbl_addr and ttl out, with stock
// dnsblog's log lines. 127.255.255.x answers, disabled lists, malformed
// addresses and overload are answered as stock answers a lookup error.
#include "engine.hpp"

#include "psm/util/inet_addr.hpp"
#include "psm/util/log.hpp"

namespace psm::dnsblog {

namespace {

// Stock's server-side stream name in attribute-scan warnings.
constexpr std::string_view kStockService = "dnsblog socket";

// The reply's attr0 bytes.
std::string stock_reply(const std::string& domain, const std::string& address, int label,
                        const std::string& rbl_addr, int ttl) {
    return attr_encode({attr::send_str("rbl_domain", domain), attr::send_str("client_address", address),
                        attr::send_int("label", label), attr::send_str("rbl_addr", rbl_addr),
                        attr::send_int("ttl", ttl)});
}

} // namespace

bool Engine::stock_request(const AttrList& request, Reply reply, std::weak_ptr<void> owner) {
    // Stock scans exactly these three and reads nothing after them.
    AttrList head(request.begin(), request.begin() + static_cast<long>(std::min<std::size_t>(request.size(), 3)));
    std::string domain, address;
    int label = 0;
    auto scan = attr_scan(head, kStockService, kAttrFlagStrict,
                          {attr::recv_str("rbl_domain", domain), attr::recv_str("client_address", address),
                           attr::recv_int("label", label)});
    if (scan.conversions != 3) return false;
    if (msg_verbose) msg_info("dnsblog_query: addr %s dnsbl_domain %s", address.c_str(), domain.c_str());

    auto parsed = InetAddr::parse(address);
    if (!parsed) {
        msg_warn("dnsblog: malformed client address in request for domain %s: %s", domain.c_str(), address.c_str());
        send(std::move(reply), stock_reply(domain, address, label, "", -1));
        return true;
    }
    lookups_.lookup(
        domain, *parsed,
        [this, alive = alive_, domain, address, label, reply = std::move(reply)](const LookupResult& r) mutable {
            if (!*alive) return;
            std::string rbl_addr;
            int ttl = -1;
            switch (r.status) {
            case LookupResult::Status::listed:
                for (const auto& a : r.addresses)
                    if (!is_refusal_code(a))
                        msg_info("addr %s listed by domain %s as %s", address.c_str(), domain.c_str(),
                                 InetAddr::v4(a).to_string().c_str());
                rbl_addr = r.listing_text();
                ttl = r.ttl;
                break;
            case LookupResult::Status::not_listed:
                if (msg_verbose)
                    msg_info("dnsblog_query: addr %s not listed by domain %s", address.c_str(), domain.c_str());
                ttl = r.ttl;
                break;
            case LookupResult::Status::failed:
                msg_warn("dnsblog_query: lookup error for DNS query %s: %s", r.query.c_str(), r.why.c_str());
                break;
            case LookupResult::Status::disabled:
                if (msg_verbose)
                    msg_info("dnsblog_query: DNSBL domain %s is disabled: no lookup for addr %s", domain.c_str(),
                             address.c_str());
                break;
            case LookupResult::Status::overload:
                break; // the lookups warned (rate-limited)
            }
            send(std::move(reply), stock_reply(domain, address, label, rbl_addr, ttl));
        },
        std::move(owner));
    return true;
}

} // namespace psm::dnsblog
