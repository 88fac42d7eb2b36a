// IPv4/IPv6 addresses as a compact value (16 bytes + family, no heap) and
// CIDR blocks with Postfix's parsing rules (cidr_match: "[addr]/len",
// "non-null host address bits" check). Parsing, matching and formatting
// into a fixed buffer never allocate, so lookups stay cheap.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace psm {

// Text form of an address in a fixed buffer (INET6_ADDRSTRLEN bytes).
struct InetAddrText {
    std::array<char, 46> buf{};
    std::size_t len = 0;
    std::string_view view() const { return {buf.data(), len}; }
};

class InetAddr {
public:
    enum class Family : std::uint8_t { none, v4, v6 };

    InetAddr() = default; // family none: matches nothing, formats as ""

    static InetAddr v4(const std::array<std::uint8_t, 4>& bytes);
    static InetAddr v6(const std::array<std::uint8_t, 16>& bytes);

    // Strict inet_pton forms, as Postfix parses lookup keys and patterns:
    // text containing ':' is IPv6, anything else IPv4 dotted quad (no
    // leading zeros, no short forms, no "%scope").
    static std::optional<InetAddr> parse(std::string_view text) noexcept;

    // The numeric forms getaddrinfo(AI_NUMERICHOST) accepts, as Postfix's
    // hostaddr_to_sockaddr() does for HAProxy headers: also inet_aton's
    // legacy IPv4 forms ("01.02.03.04" is 1.2.3.4, "127.1", hex, octal).
    // A "%scope" suffix is accepted and dropped.
    static std::optional<InetAddr> parse_lenient(std::string_view text);

    // AF_INET / AF_INET6 socket addresses; anything else gives nullopt.
    static std::optional<InetAddr> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;
    static InetAddr from_asio(const boost::asio::ip::address& address) noexcept;

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::v4; }
    bool is_v6() const { return family_ == Family::v6; }
    bool empty() const { return family_ == Family::none; }
    int af() const; // AF_INET, AF_INET6 or AF_UNSPEC

    const std::uint8_t* data() const { return bytes_.data(); }
    std::size_t size() const { return family_ == Family::v4 ? 4 : family_ == Family::v6 ? 16 : 0; }

    // ::ffff:a.b.c.d
    bool is_v4_mapped() const;
    // a.b.c.d for an IPv4-mapped IPv6 address, otherwise a copy of *this
    // (what Postfix does to client addresses when IPv4 is enabled).
    InetAddr unmapped() const;

    // inet_ntop form: "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1".
    InetAddrText text() const noexcept;
    std::string to_string() const;

    // Fills `out` (port in host order) and returns the socket address
    // length, or 0 for an empty address.
    socklen_t to_sockaddr(sockaddr_storage& out, std::uint16_t port = 0) const noexcept;
    boost::asio::ip::address to_asio() const;

    // DNSBL query name (dnsblog): "1.2.0.192.<domain>" for 192.0.2.1;
    // 32 reversed lower-case nibbles then "<domain>" for IPv6.
    std::string dnsbl_query(std::string_view domain) const;

    friend bool operator==(const InetAddr&, const InetAddr&) = default;

private:
    std::array<std::uint8_t, 16> bytes_{};
    Family family_ = Family::none;
};

// A network "address/prefix" with zero host bits.
class CidrBlock {
public:
    // Host bits of `network` beyond `prefix` are cleared; prefix is capped
    // at the family's bit count.
    CidrBlock(const InetAddr& network, unsigned prefix);

    // Parses a pattern exactly as Postfix's cidr_match does: "addr",
    // "addr/len", "[addr]", "[addr]/len" or "[addr/len]". On error returns
    // nullopt and sets *why to stock's wording, e.g.
    //   non-null host address bits in "192.168.1.1/24", perhaps you should
    //   use "192.168.1.0/24" instead
    // Stock quirk kept: the length is stored in 8 bits, so "/288" is "/32"
    // and "/256" is "/0".
    static std::optional<CidrBlock> parse(std::string_view pattern, std::string* why = nullptr);

    const InetAddr& network() const { return network_; }
    unsigned prefix() const { return prefix_; }

    // False for an address of the other family (IPv4 never matches IPv6).
    bool contains(const InetAddr& address) const noexcept;

    std::string to_string() const; // "192.0.2.0/24"

    friend bool operator==(const CidrBlock&, const CidrBlock&) = default;

private:
    InetAddr network_;
    std::uint8_t prefix_ = 0;
};

} // namespace psm
