// IPv4/IPv6 address values and CIDR blocks (see inet_addr.hpp).
#include "psm/util/inet_addr.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

namespace psm {

namespace {

// inet_pton wants a NUL-terminated string; addresses are short, so copy into
// a stack buffer. Embedded NULs and over-long text are rejected outright.
constexpr std::size_t kMaxAddrText = 64;

bool copy_to_cstr(std::string_view text, char (&buf)[kMaxAddrText]) {
    if (text.size() >= kMaxAddrText || text.find('\0') != std::string_view::npos) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    return true;
}

constexpr std::uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// atoi() into an unsigned char, as cidr_match stores the prefix length:
// the value modulo 256, or 255 once strtol saturates at LONG_MAX.
unsigned stock_mask_length(std::string_view digits) {
    unsigned long long value = 0;
    for (char c : digits) {
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > 0x7fffffffffffffffULL) return 255;
    }
    return static_cast<unsigned>(value & 0xff);
}

std::string quoted_pair(std::string_view a, std::string_view b) {
    std::string out = "\"";
    out.append(a).append("/").append(b).append("\"");
    return out;
}

void set_why(std::string* why, std::string text) {
    if (why) *why = std::move(text);
}

} // namespace

InetAddr InetAddr::v4(const std::array<std::uint8_t, 4>& bytes) {
    InetAddr a;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    a.family_ = Family::v4;
    return a;
}

InetAddr InetAddr::v6(const std::array<std::uint8_t, 16>& bytes) {
    InetAddr a;
    a.bytes_ = bytes;
    a.family_ = Family::v6;
    return a;
}

std::optional<InetAddr> InetAddr::parse(std::string_view text) noexcept {
    char buf[kMaxAddrText];
    if (!copy_to_cstr(text, buf)) return std::nullopt;
    InetAddr a;
    if (text.find(':') != std::string_view::npos) {
        if (::inet_pton(AF_INET6, buf, a.bytes_.data()) != 1) return std::nullopt;
        a.family_ = Family::v6;
    } else {
        if (::inet_pton(AF_INET, buf, a.bytes_.data()) != 1) return std::nullopt;
        a.family_ = Family::v4;
    }
    return a;
}

std::optional<InetAddr> InetAddr::parse_lenient(std::string_view text) {
    char buf[kMaxAddrText];
    if (!copy_to_cstr(text, buf) || text.empty()) return std::nullopt;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* res = nullptr;
    if (::getaddrinfo(buf, nullptr, &hints, &res) != 0 || res == nullptr) return std::nullopt;
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
    return from_sockaddr(res->ai_addr, res->ai_addrlen);
}

std::optional<InetAddr> InetAddr::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
    if (sa == nullptr) return std::nullopt;
    InetAddr a;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in sin;
        std::memcpy(&sin, sa, sizeof(sin));
        std::memcpy(a.bytes_.data(), &sin.sin_addr, 4);
        a.family_ = Family::v4;
        return a;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, sa, sizeof(sin6));
        std::memcpy(a.bytes_.data(), &sin6.sin6_addr, 16);
        a.family_ = Family::v6;
        return a;
    }
    return std::nullopt;
}

InetAddr InetAddr::from_asio(const boost::asio::ip::address& address) noexcept {
    if (address.is_v4()) return v4(address.to_v4().to_bytes());
    return v6(address.to_v6().to_bytes());
}

int InetAddr::af() const {
    switch (family_) {
    case Family::v4:
        return AF_INET;
    case Family::v6:
        return AF_INET6;
    default:
        return AF_UNSPEC;
    }
}

bool InetAddr::is_v4_mapped() const {
    return family_ == Family::v6 && std::memcmp(bytes_.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0;
}

InetAddr InetAddr::unmapped() const {
    if (!is_v4_mapped()) return *this;
    return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

InetAddrText InetAddr::text() const noexcept {
    InetAddrText out;
    if (family_ == Family::v4) {
        // The dotted quad inet_ntop() writes, without its sprintf(): every
        // client address of every session and DNSBL reply passes here.
        char* p = out.buf.data();
        for (int i = 0; i < 4; ++i) {
            if (i > 0) *p++ = '.';
            p = std::to_chars(p, out.buf.data() + out.buf.size(), bytes_[static_cast<std::size_t>(i)]).ptr;
        }
        out.len = static_cast<std::size_t>(p - out.buf.data());
    } else if (family_ != Family::none && ::inet_ntop(af(), bytes_.data(), out.buf.data(), out.buf.size()) != nullptr) {
        out.len = std::strlen(out.buf.data());
    }
    return out;
}

std::string InetAddr::to_string() const {
    return std::string(text().view());
}

socklen_t InetAddr::to_sockaddr(sockaddr_storage& out, std::uint16_t port) const noexcept {
    std::memset(&out, 0, sizeof(out));
    if (family_ == Family::v4) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        std::memcpy(&sin.sin_addr, bytes_.data(), 4);
        std::memcpy(&out, &sin, sizeof(sin));
        return sizeof(sin);
    }
    if (family_ == Family::v6) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        std::memcpy(&sin6.sin6_addr, bytes_.data(), 16);
        std::memcpy(&out, &sin6, sizeof(sin6));
        return sizeof(sin6);
    }
    return 0;
}

boost::asio::ip::address InetAddr::to_asio() const {
    if (family_ == Family::v4)
        return boost::asio::ip::address_v4(
            boost::asio::ip::address_v4::bytes_type{bytes_[0], bytes_[1], bytes_[2], bytes_[3]});
    boost::asio::ip::address_v6::bytes_type b;
    std::copy(bytes_.begin(), bytes_.end(), b.begin());
    return boost::asio::ip::address_v6(b);
}

std::string InetAddr::dnsbl_query(std::string_view domain) const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    if (family_ == Family::v4) {
        out.reserve(16 + domain.size());
        for (int i = 3; i >= 0; --i) {
            out += std::to_string(bytes_[static_cast<std::size_t>(i)]);
            out += '.';
        }
    } else if (family_ == Family::v6) {
        out.reserve(64 + domain.size());
        for (int i = 15; i >= 0; --i) {
            std::uint8_t b = bytes_[static_cast<std::size_t>(i)];
            out += kHex[b & 0xf];
            out += '.';
            out += kHex[b >> 4];
            out += '.';
        }
    }
    out.append(domain);
    return out;
}

// ---------------------------------------------------------------------------

CidrBlock::CidrBlock(const InetAddr& network, unsigned prefix) : network_(network) {
    unsigned bits = static_cast<unsigned>(network.size() * 8);
    prefix_ = static_cast<std::uint8_t>(std::min(prefix, bits));
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), network.data(), network.size());
    for (unsigned i = 0; i < network.size(); ++i) {
        unsigned keep = prefix_ > i * 8 ? std::min(8u, prefix_ - i * 8) : 0;
        bytes[i] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    }
    if (network.is_v4())
        network_ = InetAddr::v4({bytes[0], bytes[1], bytes[2], bytes[3]});
    else if (network.is_v6())
        network_ = InetAddr::v6(bytes);
}

std::optional<CidrBlock> CidrBlock::parse(std::string_view pattern, std::string* why) {
    std::string_view addr = pattern;
    std::optional<std::string_view> mask;

    // Brackets: "[addr]", "[addr]/len" or "[addr/len]".
    if (!pattern.empty() && pattern.front() == '[') {
        std::string_view inside = pattern.substr(1);
        std::size_t close = inside.find(']');
        if (close == std::string_view::npos) {
            set_why(why, "missing ']' character after \"[" + std::string(inside) + "\"");
            return std::nullopt;
        }
        std::string_view after = inside.substr(close + 1);
        addr = inside.substr(0, close);
        if (!after.empty()) {
            if (after.front() != '/') {
                set_why(why, "garbage after \"[" + std::string(addr) + "]\"");
                return std::nullopt;
            }
            mask = after.substr(1);
        }
    }
    if (!mask) {
        std::size_t slash = addr.find('/');
        if (slash != std::string_view::npos) {
            mask = addr.substr(slash + 1);
            addr = addr.substr(0, slash);
        }
    }

    bool v6 = addr.find(':') != std::string_view::npos;
    unsigned bits = v6 ? 128 : 32;
    std::optional<InetAddr> net;
    if (!mask) {
        net = InetAddr::parse(addr);
        if (!net || net->is_v6() != v6) {
            set_why(why, "bad address pattern: \"" + std::string(addr) + "\"");
            return std::nullopt;
        }
        return CidrBlock(*net, bits);
    }
    if (!all_digits(*mask)) {
        set_why(why, "bad mask value in " + quoted_pair(addr, *mask));
        return std::nullopt;
    }
    unsigned len = stock_mask_length(*mask);
    if (len > bits) {
        set_why(why, "bad mask length in " + quoted_pair(addr, *mask));
        return std::nullopt;
    }
    net = InetAddr::parse(addr);
    if (!net) {
        set_why(why, "bad network value in " + quoted_pair(addr, *mask));
        return std::nullopt;
    }
    CidrBlock block(*net, len);
    if (!(block.network_ == *net)) {
        set_why(why, "non-null host address bits in " + quoted_pair(addr, *mask) + ", perhaps you should use \"" +
                         block.to_string() + "\" instead");
        return std::nullopt;
    }
    return block;
}

bool CidrBlock::contains(const InetAddr& address) const noexcept {
    if (address.family() != network_.family() || network_.empty()) return false;
    const std::uint8_t* a = address.data();
    const std::uint8_t* n = network_.data();
    unsigned full = prefix_ / 8;
    if (std::memcmp(a, n, full) != 0) return false;
    unsigned rest = prefix_ % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[full] & mask) == n[full];
}

std::string CidrBlock::to_string() const {
    return network_.to_string() + "/" + std::to_string(prefix_);
}

} // namespace psm
