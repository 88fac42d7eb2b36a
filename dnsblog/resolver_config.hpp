// Where dnsblog sends its DNS queries and how it retries: the name servers
// and options of a resolv.conf file (nameserver, options timeout:N
// attempts:N rotate; as glibc reads them), or the dnsblog_nameservers
// parameter ("127.0.0.1:5353, [::1]:53") which overrides the servers.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace psm::dnsblog {

struct ResolverConfig {
    std::vector<boost::asio::ip::udp::endpoint> servers; // never empty once loaded
    int timeout = 5;                                     // seconds (RES_TIMEOUT, resolv.conf "timeout:")
    int attempts = 2;                                    // rounds over all servers (RES_DFLRETRY, "attempts:")
    bool rotate = false;                                 // start each query at a random server ("rotate")

    // glibc's wait for an answer from the server at position `index` of a
    // round: timeout for the first server, (timeout << index) / servers for
    // the others, at least one second.
    std::chrono::milliseconds server_timeout(std::size_t index) const;
};

// glibc's limits.
inline constexpr std::size_t kMaxResolvConfServers = 3; // MAXNS
inline constexpr std::size_t kMaxNameservers = 8;       // dnsblog_nameservers
inline constexpr int kMaxTimeout = 30;                  // RES_MAXRETRANS
inline constexpr int kMaxAttempts = 5;                  // RES_MAXRETRY

// Parses resolv.conf text as glibc does for what dnsblog uses: the first
// three "nameserver" lines (IPv4 or IPv6, port 53; unparsable ones are
// ignored), "options timeout:N attempts:N rotate" (values capped as glibc
// caps them); everything else is ignored. No server gives 127.0.0.1:53.
ResolverConfig parse_resolv_conf(std::string_view text);

// Reads a resolv.conf file; a missing or unreadable file is glibc's "no
// file": defaults and 127.0.0.1:53.
ResolverConfig read_resolv_conf(const std::string& path);

// Parses dnsblog_nameservers: items separated by commas/blanks, each
// "ADDR", "ADDR:PORT", "[ADDR]" or "[ADDR]:PORT" (IPv6 in brackets when a
// port follows). Throws ConfigError "bad dnsblog_nameservers item: ITEM"
// or "too many dnsblog_nameservers (at most 8)".
std::vector<boost::asio::ip::udp::endpoint> parse_nameservers(std::string_view value);

// "127.0.0.1:53", "[::1]:5353"
std::string endpoint_text(const boost::asio::ip::udp::endpoint& endpoint);

} // namespace psm::dnsblog
