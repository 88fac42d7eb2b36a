// Postfix's TLS protocol lists (smtpd_tls_protocols syntax): names to
// include ("TLSv1.2") or exclude ("!SSLv3"), and since 3.6 a floor
// (">=TLSv1.2") and a ceiling ("<=TLSv1.3") given as a name or a hex
// version ("0x0303", "303"), separated by commas, white space or colons.
#pragma once

#include <optional>
#include <string_view>

namespace psm::tlsproxy {

// Protocol bits, as in Postfix.
enum TlsProtocol : unsigned {
    kProtoSSLv2 = 1u << 0,
    kProtoSSLv3 = 1u << 1,
    kProtoTLSv1 = 1u << 2,
    kProtoTLSv1_1 = 1u << 3,
    kProtoTLSv1_2 = 1u << 4,
    kProtoTLSv1_3 = 1u << 5,
};
inline constexpr unsigned kKnownProtocols =
    kProtoSSLv2 | kProtoSSLv3 | kProtoTLSv1 | kProtoTLSv1_1 | kProtoTLSv1_2 | kProtoTLSv1_3;

struct ProtocolPolicy {
    unsigned excluded = 0; // TlsProtocol bits to disable
    int floor = 0;         // minimum version (0x0303 = TLS 1.2), 0 = none
    int ceiling = 0;       // maximum version, 0 = none
};

// nullopt for an unknown protocol name or a bad version number (stock then
// logs "Invalid TLS protocol list ..." and disables TLS). When names are
// included, every known protocol not included is excluded.
std::optional<ProtocolPolicy> parse_protocols(std::string_view list);

} // namespace psm::tlsproxy
