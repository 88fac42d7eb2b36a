// Endpoint lookups: the socket's own addresses, or a HAProxy PROXY header.
#include "endpoint.hpp"

#include "client_endpoint.hpp"
#include "haproxy.hpp"

#include "psm/util/inet_addr.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace psm::postscreen {

namespace {

// Address text and port of a socket address as stock formats them, or the
// getnameinfo-style reason why not.
bool format_sockaddr(const sockaddr_storage& ss, socklen_t len, bool ipv4_enabled, std::string& addr,
                     std::uint16_t& port, std::string& why) {
    std::optional<InetAddr> a = InetAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    if (!a) {
        why = ::gai_strerror(EAI_FAMILY);
        return false;
    }
    InetAddr shown = ipv4_enabled ? a->unmapped() : *a;
    addr = shown.to_string();
    port = ss.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port)
                                   : ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
    return true;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

} // namespace

ClientEndpoint Endpoint::text() const {
    ClientEndpoint ep;
    ep.client_addr = client_addr;
    ep.client_port = client_port_text();
    ep.server_addr = server_addr;
    ep.server_port = server_port_text();
    return ep;
}

std::optional<Endpoint> endpoint_from_socket(int fd, bool ipv4_enabled) {
    return endpoint_from_socket(fd, sockaddr_storage{}, 0, sockaddr_storage{}, 0, ipv4_enabled);
}

std::optional<Endpoint> endpoint_from_socket(int fd, const sockaddr_storage& peer, socklen_t peer_length,
                                             const sockaddr_storage& local, socklen_t local_length,
                                             bool ipv4_enabled) {
    Endpoint ep;
    std::string why;
    sockaddr_storage ss = peer;
    socklen_t len = peer_length;
    if (len == 0) {
        len = sizeof(ss);
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
            msg_warn("getpeername: %s -- dropping this connection", std::strerror(errno));
            return std::nullopt;
        }
    }
    if (!format_sockaddr(ss, len, ipv4_enabled, ep.client_addr, ep.client_port, why)) {
        msg_warn("cannot convert client address/port to string: %s -- dropping this connection", why.c_str());
        return std::nullopt;
    }
    ss = local;
    len = local_length;
    if (len == 0) {
        len = sizeof(ss);
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
            msg_warn("getsockname: %s -- dropping this connection", std::strerror(errno));
            return std::nullopt;
        }
    }
    if (!format_sockaddr(ss, len, ipv4_enabled, ep.server_addr, ep.server_port, why)) {
        msg_warn("cannot convert server address/port to string: %s -- dropping this connection", why.c_str());
        return std::nullopt;
    }
    return ep;
}

std::optional<Endpoint> endpoint_from_proxy(int fd, bool ipv4_enabled, bool ipv6_enabled) {
    std::array<char, kProxyPeekLimit> buf;
    ssize_t n;
    do
        n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        msg_warn("%s", std::string(kProxyEofWarning).c_str());
        return std::nullopt;
    }
    std::string_view peeked(buf.data(), static_cast<std::size_t>(n));
    ProxyResult result = parse_proxy_header(peeked, ipv4_enabled, ipv6_enabled);
    if (!result.ok()) {
        msg_warn("%s", proxy_warning(result, peeked).c_str());
        return std::nullopt;
    }
    // Pop exactly the header off the input queue.
    ssize_t got;
    do
        got = ::recv(fd, buf.data(), result.consumed, MSG_DONTWAIT);
    while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(result.consumed)) {
        msg_warn("haproxy read: %s", got < 0 ? std::strerror(errno) : "Success");
        return std::nullopt;
    }
    if (result.status == ProxyResult::Status::local) return endpoint_from_socket(fd, ipv4_enabled);
    Endpoint ep;
    ep.client_addr = result.ep.client_addr;
    ep.server_addr = result.ep.server_addr;
    std::optional<std::uint16_t> cport = parse_port(result.ep.client_port);
    std::optional<std::uint16_t> sport = parse_port(result.ep.server_port);
    if (!cport || !sport) { // the parser validated them; defensive
        msg_warn("haproxy read: bad or missing client port: %s", c_escape(peeked).c_str());
        return std::nullopt;
    }
    ep.client_port = *cport;
    ep.server_port = *sport;
    return ep;
}

} // namespace psm::postscreen
