// inet listen address resolution for master (see inet_endpoints.hpp).
#include "inet_endpoints.hpp"

#include "psm/util/error.hpp"
#include "psm/util/text.hpp"
#include "psm/util/unique_fd.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace psm::master {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

void add_unique(std::vector<InetAddr>& list, const InetAddr& a) {
    if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
}

bool family_enabled(const InetAddr& a, const InetProtocols& p) {
    return (a.is_v4() && p.ipv4) || (a.is_v6() && p.ipv6);
}

// getaddrinfo() for one host (nullptr: the passive wildcard addresses).
std::vector<InetAddr> resolve(const char* host, const InetProtocols& protocols, bool numeric_only) {
    std::vector<InetAddr> out;
    if (protocols.none()) return out;
    addrinfo hints{};
    hints.ai_family = protocols.ipv4 && protocols.ipv6 ? AF_UNSPEC : protocols.ipv4 ? AF_INET : AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = (host == nullptr ? AI_PASSIVE : 0) | (numeric_only ? AI_NUMERICHOST : 0);
    addrinfo* res = nullptr;
    if (::getaddrinfo(host, "0", &hints, &res) != 0) return out;
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
    for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        auto addr = InetAddr::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (addr && family_enabled(*addr, protocols)) add_unique(out, *addr);
    }
    return out;
}

} // namespace

InetProtocols parse_inet_protocols(const std::string& value, std::vector<std::string>* warnings) {
    InetProtocols p;
    for (const std::string& name : split_tokens(value)) {
        if (iequals(name, "ipv4"))
            p.ipv4 = true;
        else if (iequals(name, "ipv6"))
            p.ipv6 = true;
        else if (iequals(name, "all"))
            p.ipv4 = p.ipv6 = true;
        else
            throw ConfigError("unknown inet_protocols value \"" + name + "\" in \"" + value + "\"");
    }
    if (p.ipv6) {
        UniqueFd probe(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!probe) {
            const std::string why = std::strerror(errno);
            if (errno != EAFNOSUPPORT) throw ConfigError("socket: " + why);
            if (!p.ipv4) throw ConfigError("inet_protocols: IPv6 support is disabled: " + why);
            if (warnings) {
                warnings->push_back("inet_protocols: IPv6 support is disabled: " + why);
                warnings->push_back("inet_protocols: configuring for IPv4 support only");
            }
            p.ipv6 = false;
        }
    }
    return p;
}

std::vector<InetAddr> host_addresses(const std::string& host_text, const InetProtocols& protocols) {
    std::string host = host_text;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) return {};
    if (auto numeric = InetAddr::parse_lenient(host)) {
        std::vector<InetAddr> out;
        if (family_enabled(*numeric, protocols)) out.push_back(*numeric);
        return out;
    }
    return resolve(host.c_str(), protocols, false);
}

std::vector<InetAddr> interface_addresses(const std::string& inet_interfaces, const InetProtocols& protocols) {
    std::vector<InetAddr> out;
    const std::vector<std::string> items = split_tokens(inet_interfaces);
    if (items.size() == 1 && iequals(items.front(), "all")) return resolve(nullptr, protocols, true);
    if (items.size() == 1 && iequals(items.front(), "loopback-only")) {
        if (protocols.ipv4) out.push_back(*InetAddr::parse("127.0.0.1"));
        if (protocols.ipv6) out.push_back(*InetAddr::parse("::1"));
        return out;
    }
    for (const std::string& item : items) {
        std::vector<InetAddr> found = host_addresses(item, protocols);
        if (found.empty() && !protocols.none())
            throw ConfigError("config variable inet_interfaces: host not found: " + item);
        for (const InetAddr& a : found)
            add_unique(out, a);
    }
    return out;
}

std::optional<std::uint16_t> resolve_port(const std::string& port, const std::string& known_tcp_ports) {
    auto number = [](std::string_view digits) -> std::optional<std::uint16_t> {
        if (!all_digits(digits) || digits.size() > 5) return std::nullopt;
        unsigned long n = std::stoul(std::string(digits));
        if (n > 65535) return std::nullopt;
        return static_cast<std::uint16_t>(n);
    };
    if (all_digits(port)) return number(port);
    // "smtps=submissions=465": every name before the last '=' maps to it.
    for (const std::string& item : split_tokens(known_tcp_ports)) {
        std::vector<std::string> parts = split_tokens(item, "=");
        if (parts.size() < 2) continue;
        for (std::size_t i = 0; i + 1 < parts.size(); ++i)
            if (parts[i] == port) return number(parts.back());
    }
    if (const servent* se = ::getservbyname(port.c_str(), "tcp")) return ntohs(static_cast<std::uint16_t>(se->s_port));
    return std::nullopt;
}

bool is_loopback(const InetAddr& addr) {
    if (addr.is_v4()) return addr.data()[0] == 127;
    if (addr.is_v6()) {
        static const InetAddr v6_loopback = *InetAddr::parse("::1");
        if (addr == v6_loopback) return true;
        if (addr.is_v4_mapped()) return addr.unmapped().data()[0] == 127;
    }
    return false;
}

} // namespace psm::master
