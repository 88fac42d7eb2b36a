// Run-time defaults computed as stock Postfix computes them: myhostname
// from the system host name, mydomain from myhostname, mynetworks from the
// local interface addresses.
#include "parameter_defaults.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "psm/global/main_cf.hpp"
#include "psm/util/text.hpp"

namespace psm {
namespace {

constexpr std::string_view kDefaultDomain = "localdomain";

struct LocalAddress {
    int family = AF_UNSPEC;
    std::array<unsigned char, 16> addr{};
    int prefix = 0; // netmask length
};

int mask_length(const unsigned char* mask, int bytes) {
    int n = 0;
    for (int i = 0; i < bytes; ++i)
        for (int bit = 7; bit >= 0 && (mask[i] >> bit & 1); --bit)
            ++n;
    return n;
}

// Addresses of the interfaces that are up, in getifaddrs() order (IPv4
// first, then IPv6, each by interface), as stock's inet_addr_local().
std::vector<LocalAddress> local_addresses() {
    std::vector<LocalAddress> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, ::freeifaddrs);
    for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == nullptr || (ifa->ifa_flags & IFF_UP) == 0) continue;
        LocalAddress a;
        if (ifa->ifa_addr->sa_family == AF_INET) {
            const auto* sin = reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr);
            if (sin->sin_addr.s_addr == INADDR_ANY) continue;
            a.family = AF_INET;
            std::memcpy(a.addr.data(), &sin->sin_addr, 4);
            a.prefix = 32;
            if (ifa->ifa_netmask != nullptr)
                a.prefix = mask_length(reinterpret_cast<const unsigned char*>(
                                           &reinterpret_cast<const sockaddr_in*>(ifa->ifa_netmask)->sin_addr),
                                       4);
        } else if (ifa->ifa_addr->sa_family == AF_INET6) {
            const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
            if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) continue;
            a.family = AF_INET6;
            std::memcpy(a.addr.data(), &sin6->sin6_addr, 16);
            a.prefix = 128;
            if (ifa->ifa_netmask != nullptr)
                a.prefix = mask_length(reinterpret_cast<const unsigned char*>(
                                           &reinterpret_cast<const sockaddr_in6*>(ifa->ifa_netmask)->sin6_addr),
                                       16);
        } else {
            continue;
        }
        out.push_back(a);
    }
    return out;
}

bool same_address(const LocalAddress& a, const LocalAddress& b) {
    return a.family == b.family && std::memcmp(a.addr.data(), b.addr.data(), a.family == AF_INET ? 4 : 16) == 0;
}

// The addresses named by inet_interfaces, with the netmask of the local
// interface that carries each (a host mask when none does).
std::vector<LocalAddress> interface_addresses(const std::string& interfaces, bool want_v4, bool want_v6) {
    const std::vector<LocalAddress> local = local_addresses();
    std::vector<LocalAddress> out;
    auto add = [&](LocalAddress a) {
        if ((a.family == AF_INET && !want_v4) || (a.family == AF_INET6 && !want_v6)) return;
        for (const auto& seen : out)
            if (same_address(seen, a)) return;
        for (const auto& l : local)
            if (same_address(l, a)) a.prefix = l.prefix;
        out.push_back(a);
    };
    for (const std::string& item : split_tokens(interfaces)) {
        if (iequals(item, "all")) {
            for (const auto& l : local)
                add(l);
        } else if (iequals(item, "loopback-only")) {
            LocalAddress v4;
            v4.family = AF_INET;
            ::inet_pton(AF_INET, "127.0.0.1", v4.addr.data());
            v4.prefix = 32;
            add(v4);
            LocalAddress v6;
            v6.family = AF_INET6;
            ::inet_pton(AF_INET6, "::1", v6.addr.data());
            v6.prefix = 128;
            add(v6);
        } else {
            std::string host = item;
            if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
            addrinfo hints = {};
            hints.ai_socktype = SOCK_STREAM;
            addrinfo* res = nullptr;
            if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) continue;
            std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
            for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
                LocalAddress a;
                a.family = ai->ai_family;
                if (ai->ai_family == AF_INET) {
                    std::memcpy(a.addr.data(), &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, 4);
                    a.prefix = 32;
                } else if (ai->ai_family == AF_INET6) {
                    std::memcpy(a.addr.data(), &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, 16);
                    a.prefix = 128;
                } else {
                    continue;
                }
                add(a);
            }
        }
    }
    return out;
}

std::string network_text(LocalAddress a, int prefix) {
    const int bytes = a.family == AF_INET ? 4 : 16;
    for (int i = 0; i < bytes; ++i) {
        const int keep = std::max(0, std::min(8, prefix - i * 8));
        a.addr[static_cast<std::size_t>(i)] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
    }
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(a.family, a.addr.data(), buf, sizeof(buf));
    if (a.family == AF_INET) return std::string(buf) + "/" + std::to_string(prefix);
    return "[" + std::string(buf) + "]/" + std::to_string(prefix);
}

// Classful prefix of an IPv4 address (A /8, B /16, C /24, D /4).
int class_prefix(const LocalAddress& a) {
    const unsigned first = a.addr[0];
    if (first < 128) return 8;
    if (first < 192) return 16;
    if (first < 224) return 24;
    if (first < 240) return 4;
    throw ConfigError("mynetworks: bad address class: " + network_text(a, 32).substr(0, network_text(a, 32).find('/')));
}

} // namespace

std::string default_myhostname(const Config& config) {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == 0)
        throw ConfigError("gethostname: " + std::string(std::strerror(errno)));
    std::string name = buf;
    if (name.find('.') != std::string::npos) return name;
    std::string domain(kDefaultDomain);
    if (config.source("mydomain") >= Config::Source::main_cf)
        domain = config.expand(config.raw("mydomain").value_or(""));
    return name + "." + domain;
}

std::string default_mydomain(const Config& config) {
    const std::string host = config.expand(config.raw("myhostname").value_or(""));
    const std::size_t dot = host.find('.');
    if (dot == std::string::npos) return std::string(kDefaultDomain);
    return host.substr(dot + 1);
}

std::string default_mynetworks(const Config& config) {
    const std::string style_text = config.get_str("mynetworks_style");
    const std::vector<std::string> styles = split_tokens(style_text);
    if (styles.size() != 1)
        throw ConfigError("bad mynetworks_style value: " + style_text + "; specify exactly one value");
    const std::string style = lowercase(styles.front());
    if (style != "class" && style != "subnet" && style != "host")
        throw ConfigError("unknown mynetworks mask style value \"" + styles.front() + "\" in \"" + style_text + "\"");

    bool want_v4 = false, want_v6 = false;
    for (const std::string& p : split_tokens(config.get_str("inet_protocols"))) {
        if (iequals(p, "all"))
            want_v4 = want_v6 = true;
        else if (iequals(p, "ipv4"))
            want_v4 = true;
        else if (iequals(p, "ipv6"))
            want_v6 = true;
    }

    std::string result;
    for (const LocalAddress& a : interface_addresses(config.get_str("inet_interfaces"), want_v4, want_v6)) {
        int prefix = a.prefix;
        if (style == "host")
            prefix = a.family == AF_INET ? 32 : 128;
        else if (style == "class" && a.family == AF_INET)
            prefix = class_prefix(a);
        if (!result.empty()) result += ' ';
        result += network_text(a, prefix);
    }
    return result;
}

} // namespace psm
