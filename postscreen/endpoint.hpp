// Who is talking to whom: the client and server address/port of an accepted
// connection, from the socket (getpeername/getsockname, stock's
// psc_endpt_local_lookup) or from a HAProxy PROXY v1/v2 header (stock's
// psc_endpt_haproxy_lookup: one peek of at most 536 bytes, parsed by
// haproxy.hpp, then exactly the header's bytes consumed). Failures log
// stock's warning; the caller then writes the raw 421 and closes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace psm::postscreen {

struct ClientEndpoint;

struct Endpoint {
    std::string client_addr; // no brackets; IPv4-mapped IPv6 reduced when IPv4 is enabled
    std::string server_addr;
    std::uint16_t client_port = 0;
    std::uint16_t server_port = 0;

    std::string client_port_text() const { return std::to_string(client_port); }
    std::string server_port_text() const { return std::to_string(server_port); }
    ClientEndpoint text() const; // the SMTP engine's and reply formatter's form
};

// The raw reply for endpoint failures: no footer, no soft_bounce.
inline constexpr std::string_view kNoResourcesReply = "421 4.3.2 No system resources\r\n";

// From the socket itself. Logs e.g. "getpeername: %m -- dropping this
// connection" and returns nullopt on failure.
std::optional<Endpoint> endpoint_from_socket(int fd, bool ipv4_enabled);
// The same with the peer address accept() gave and the listener's fixed
// local address (a length 0: unknown, ask the socket).
std::optional<Endpoint> endpoint_from_socket(int fd, const sockaddr_storage& peer, socklen_t peer_length,
                                             const sockaddr_storage& local, socklen_t local_length,
                                             bool ipv4_enabled);

// Reads the PROXY header of a readable socket: one MSG_PEEK, parse, then
// consume exactly the header. A LOCAL (v2) header yields the socket's own
// endpoints. Logs "haproxy read: ..." as stock and returns nullopt on
// failure.
std::optional<Endpoint> endpoint_from_proxy(int fd, bool ipv4_enabled, bool ipv6_enabled);

} // namespace psm::postscreen
