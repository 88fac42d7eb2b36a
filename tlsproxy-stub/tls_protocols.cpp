// Parsing Postfix's TLS protocol lists.
#include "tls_protocols.hpp"

#include "psm/util/text.hpp"

#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string>
#include <utility>

namespace psm::tlsproxy {
namespace {

struct Name {
    std::string_view name;
    unsigned bit;
    int version;
};

constexpr std::array<Name, 6> kNames{{
    {"SSLv2", kProtoSSLv2, 0x0002},
    {"SSLv3", kProtoSSLv3, 0x0300},
    {"TLSv1", kProtoTLSv1, 0x0301},
    {"TLSv1.1", kProtoTLSv1_1, 0x0302},
    {"TLSv1.2", kProtoTLSv1_2, 0x0303},
    {"TLSv1.3", kProtoTLSv1_3, 0x0304},
}};

const Name* find_name(std::string_view word) {
    for (const auto& n : kNames)
        if (iequals(n.name, word)) return &n;
    return nullptr;
}

// A version bound: a protocol name or a hexadecimal number.
bool parse_version(std::string_view word, int& out) {
    if (const Name* n = find_name(word)) {
        out = n->version;
        return true;
    }
    const std::string text(word);
    char* end = nullptr;
    errno = 0;
    unsigned long value = std::strtoul(text.c_str(), &end, 16);
    if (*end != '\0' || errno == ERANGE || value > INT_MAX) return false;
    out = static_cast<int>(value);
    return true;
}

} // namespace

std::optional<ProtocolPolicy> parse_protocols(std::string_view list) {
    ProtocolPolicy policy;
    unsigned included = 0;
    for (const auto& token : split_tokens(list, ", \t\r\n:")) {
        std::string_view word = token;
        if (word.starts_with(">=")) {
            if (!parse_version(word.substr(2), policy.floor)) return std::nullopt;
        } else if (word.starts_with("<=")) {
            if (!parse_version(word.substr(2), policy.ceiling)) return std::nullopt;
        } else if (word.starts_with("!")) {
            const Name* n = find_name(word.substr(1));
            if (!n) return std::nullopt;
            policy.excluded |= n->bit;
        } else {
            const Name* n = find_name(word);
            if (!n) return std::nullopt;
            included |= n->bit;
        }
    }
    if (included) policy.excluded |= kKnownProtocols & ~included;
    return policy;
}

} // namespace psm::tlsproxy
