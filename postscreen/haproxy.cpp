// HAProxy PROXY v1/v2 header parsing (see haproxy.hpp), with the checks and
// the error texts of stock 3.7's global/haproxy_srvr.c.
#include "haproxy.hpp"

#include "psm/util/inet_addr.hpp"
#include "psm/util/text.hpp"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>

namespace psm::postscreen {

namespace {

constexpr std::size_t kV2HeaderLength = 16;
constexpr std::array<unsigned char, 12> kV2Signature = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                        0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
constexpr std::size_t kV2AddrLengthInet = 12;  // 2 x 4 address bytes + 2 x 2 port bytes
constexpr std::size_t kV2AddrLengthInet6 = 36; // 2 x 16 + 2 x 2
constexpr std::size_t kHostAddrMax = 45;       // sizeof(MAI_HOSTADDR_STR) - 1
constexpr std::size_t kPortMax = 5;            // sizeof(MAI_SERVPORT_STR) - 1

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Postfix's valid_ipv4_hostaddr(): four decimal fields <= 255 (leading
// zeros allowed), "0.x.y.z" only as 0.0.0.0.
bool valid_ipv4_text(std::string_view a) {
    int fields = 0;
    int value = 0;
    bool in_field = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char c = a[i];
        if (is_digit(c)) {
            if (!in_field) {
                in_field = true;
                value = 0;
                ++fields;
            }
            value = value * 10 + (c - '0');
            if (value > 255) return false;
        } else if (c == '.') {
            if (!in_field || i + 1 == a.size()) return false;
            if (fields == 1 && value == 0 && a.find_first_not_of("0.") != std::string_view::npos) return false;
            in_field = false;
        } else {
            return false;
        }
    }
    return fields == 4;
}

// Postfix's valid_ipv6_hostaddr(): up to eight hex fields of at most four
// digits, at most one "::", optionally ending in a dotted quad.
bool valid_ipv6_text(std::string_view a) {
    int null_field = 0;
    int field = 0;
    std::size_t len = 0;
    for (std::size_t i = 0;;) {
        if (i == a.size()) {
            if (field < 2) return false;
            if (len == 0 && null_field != field - 1) return false;
            return true;
        }
        const char c = a[i];
        if (c == '.') {
            if (field < 2 || field > 6) return false;
            return valid_ipv4_text(a.substr(i - len));
        }
        if (c == ':') {
            if (field == 0 && len == 0 && i + 1 < a.size() && std::isalnum(static_cast<unsigned char>(a[i + 1])))
                return false;
            if (++field > 7) return false;
            ++i;
            len = 0;
            if (i < a.size() && a[i] == ':') {
                if (null_field > 0) return false;
                null_field = field;
            }
            continue;
        }
        len = 0;
        while (i + len < a.size() && std::isxdigit(static_cast<unsigned char>(a[i + len])))
            ++len;
        if (len == 0 || len > 4) return false;
        i += len;
    }
}

// The address in its printed form (inet_ntop), "::ffff:a.b.c.d" reduced to
// "a.b.c.d" when IPv4 is enabled.
std::string address_text(const InetAddr& address, bool ipv4_enabled) {
    if (ipv4_enabled && address.is_v4_mapped()) return address.unmapped().to_string();
    return address.to_string();
}

std::optional<std::string> v1_address(std::optional<std::string_view> token, bool v6, bool ipv4_enabled) {
    if (!token || token->size() > kHostAddrMax) return std::nullopt;
    if (v6 ? !valid_ipv6_text(*token) : !valid_ipv4_text(*token)) return std::nullopt;
    // As getaddrinfo(AI_NUMERICHOST): inet_aton forms for IPv4 ("010" is octal).
    std::optional<InetAddr> parsed = InetAddr::parse_lenient(*token);
    if (!parsed || parsed->is_v6() != v6) return std::nullopt;
    return address_text(*parsed, ipv4_enabled);
}

// Postfix's valid_hostport(): decimal, no leading zero, <= 65535.
bool valid_port(std::optional<std::string_view> token) {
    if (!token || token->size() > kPortMax) return false;
    const std::string_view p = *token;
    if (p.size() > 1 && p[0] == '0') return false;
    long value = 0;
    for (char c : p) {
        if (!is_digit(c)) return false;
        value = value * 10 + (c - '0');
    }
    return value <= 65535;
}

// mystrtok(&cp, " \r")
class Tokens {
public:
    explicit Tokens(std::string_view text) : rest_(text) {}
    std::optional<std::string_view> next() {
        std::size_t begin = rest_.find_first_not_of(" \r");
        if (begin == std::string_view::npos) {
            rest_ = {};
            return std::nullopt;
        }
        std::size_t stop = rest_.find_first_of(" \r", begin);
        std::string_view token =
            rest_.substr(begin, stop == std::string_view::npos ? std::string_view::npos : stop - begin);
        rest_ = stop == std::string_view::npos ? std::string_view{} : rest_.substr(stop + 1);
        return token;
    }

private:
    std::string_view rest_;
};

ProxyResult error(const char* reason) {
    ProxyResult r;
    r.status = ProxyResult::Status::error;
    r.error_text = reason;
    return r;
}

ProxyResult parse_v1(std::string_view data, bool ipv4_enabled, bool ipv6_enabled) {
    // Stock copies the peeked bytes as a C string: a NUL ends them.
    data = data.substr(0, data.find('\0'));
    const std::size_t lf = data.find('\n');
    if (lf == std::string_view::npos) return error("missing protocol header terminator");
    Tokens tokens(data.substr(0, lf));
    if (tokens.next() != std::optional<std::string_view>("PROXY")) return error("bad or missing protocol header");
    const auto proto = tokens.next();
    bool v6 = false;
    if (proto && iequals(*proto, "TCP6") && ipv6_enabled) {
        v6 = true;
    } else if (!(proto && iequals(*proto, "TCP4") && ipv4_enabled)) {
        return error("bad or missing protocol type");
    }
    ProxyResult r;
    auto client = v1_address(tokens.next(), v6, ipv4_enabled);
    if (!client) return error("bad or missing client address");
    auto server = v1_address(tokens.next(), v6, ipv4_enabled);
    if (!server) return error("bad or missing server address");
    auto client_port = tokens.next();
    if (!valid_port(client_port)) return error("bad or missing client port");
    auto server_port = tokens.next();
    if (!valid_port(server_port)) return error("bad or missing server port");
    r.status = ProxyResult::Status::ok;
    r.consumed = lf + 1;
    r.ep.client_addr = std::move(*client);
    r.ep.server_addr = std::move(*server);
    r.ep.client_port = std::string(*client_port);
    r.ep.server_port = std::string(*server_port);
    return r;
}

unsigned port_at(const unsigned char* p) {
    return (static_cast<unsigned>(p[0]) << 8) | p[1];
}

ProxyResult parse_v2(std::string_view data, bool ipv4_enabled, bool ipv6_enabled) {
    if (data.size() < kV2HeaderLength) return error("short protocol header");
    const auto* h = reinterpret_cast<const unsigned char*>(data.data());
    if (std::memcmp(h, kV2Signature.data(), kV2Signature.size()) != 0) return error("unrecognized protocol header");
    if ((h[12] & 0xf0) != 0x20) return error("unrecognized protocol version");
    const std::size_t length = (static_cast<std::size_t>(h[14]) << 8) | h[15];
    if (data.size() < kV2HeaderLength + length) return error("short version 2 protocol header");

    ProxyResult r;
    r.consumed = kV2HeaderLength + length; // TLVs are skipped
    switch (h[12] & 0x0f) {
    case 0x00: // LOCAL
        r.status = ProxyResult::Status::local;
        return r;
    case 0x01: // PROXY
        break;
    default:
        return error("bad command in proxy header");
    }
    const unsigned char* a = h + kV2HeaderLength;
    switch (h[13]) {
    case 0x11: { // TCP over IPv4
        if (!ipv4_enabled) return error("Postfix IPv4 support is disabled");
        if (length < kV2AddrLengthInet) return error("short address field");
        r.ep.client_addr = InetAddr::v4({a[0], a[1], a[2], a[3]}).to_string();
        r.ep.server_addr = InetAddr::v4({a[4], a[5], a[6], a[7]}).to_string();
        r.ep.client_port = std::to_string(port_at(a + 8));
        r.ep.server_port = std::to_string(port_at(a + 10));
        break;
    }
    case 0x21: { // TCP over IPv6
        if (!ipv6_enabled) return error("Postfix IPv6 support is disabled");
        if (length < kV2AddrLengthInet6) return error("short address field");
        std::array<std::uint8_t, 16> src{};
        std::array<std::uint8_t, 16> dst{};
        std::memcpy(src.data(), a, 16);
        std::memcpy(dst.data(), a + 16, 16);
        r.ep.client_addr = address_text(InetAddr::v6(src), ipv4_enabled);
        r.ep.server_addr = address_text(InetAddr::v6(dst), ipv4_enabled);
        r.ep.client_port = std::to_string(port_at(a + 32));
        r.ep.server_port = std::to_string(port_at(a + 34));
        break;
    }
    default:
        return error("unsupported network protocol");
    }
    r.status = ProxyResult::Status::ok;
    return r;
}

} // namespace

ProxyResult parse_proxy_header(std::string_view peeked, bool ipv4_enabled, bool ipv6_enabled) {
    peeked = peeked.substr(0, kProxyPeekLimit);
    if (peeked.substr(0, 6) == "PROXY ") return parse_v1(peeked, ipv4_enabled, ipv6_enabled);
    return parse_v2(peeked, ipv4_enabled, ipv6_enabled);
}

std::string proxy_warning(const ProxyResult& result, std::string_view peeked) {
    return "haproxy read: " + result.error_text + ": " + c_escape(peeked.substr(0, kProxyPeekLimit));
}

} // namespace psm::postscreen
