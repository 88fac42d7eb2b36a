// Addresses and ports of master's inet services, resolved as stock master
// does: inet_protocols (ipv4, ipv6, all, or none), inet_interfaces ("all" =
// wildcard addresses, "loopback-only", or a list of hosts/addresses) for a
// bare "port" service, the named host of a "host:port" service, and
// known_tcp_ports before services(5) for a symbolic port.
#pragma once

#include "psm/util/inet_addr.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace psm::master {

struct InetProtocols {
    bool ipv4 = false;
    bool ipv6 = false;
    bool none() const { return !ipv4 && !ipv6; }
};

// Parses inet_protocols. Throws ConfigError "unknown inet_protocols value
// \"x\" in \"...\"". When IPv6 is asked for but the kernel lacks it, "all"
// falls back to IPv4 with stock's two warnings (in *warnings) and "ipv6"
// alone is a ConfigError "inet_protocols: IPv6 support is disabled: ...".
InetProtocols parse_inet_protocols(const std::string& value, std::vector<std::string>* warnings = nullptr);

// Addresses of one host: a numeric address (IPv6 optionally in brackets)
// or a name resolved with getaddrinfo, restricted to the enabled
// protocols, duplicates removed, in resolver order. Empty when none.
std::vector<InetAddr> host_addresses(const std::string& host, const InetProtocols& protocols);

// The listen addresses for a bare-port inet service. Throws ConfigError
// "config variable inet_interfaces: host not found: HOST".
std::vector<InetAddr> interface_addresses(const std::string& inet_interfaces, const InetProtocols& protocols);

// A port by number or by name: known_tcp_ports ("name=name=port, ...")
// first, then services(5) for tcp. nullopt when the name is unknown.
std::optional<std::uint16_t> resolve_port(const std::string& port, const std::string& known_tcp_ports);

bool is_loopback(const InetAddr& addr);

} // namespace psm::master
