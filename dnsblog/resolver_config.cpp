// resolv.conf and dnsblog_nameservers parsing (see resolver_config.hpp).
#include "resolver_config.hpp"

#include "psm/util/error.hpp"
#include "psm/util/inet_addr.hpp"
#include "psm/util/text.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace psm::dnsblog {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

constexpr std::uint16_t kDnsPort = 53;

udp::endpoint make_endpoint(const InetAddr& address, std::uint16_t port) {
    return udp::endpoint(address.to_asio(), port);
}

// glibc reads "N" after "timeout:"/"attempts:" with atoi and caps it.
int option_value(std::string_view text, int max) {
    int value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return std::clamp(value, 0, max);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

} // namespace

std::chrono::milliseconds ResolverConfig::server_timeout(std::size_t index) const {
    long seconds = static_cast<long>(timeout) << index;
    if (index > 0 && !servers.empty()) seconds /= static_cast<long>(servers.size());
    if (seconds <= 0) seconds = 1;
    return std::chrono::seconds(seconds);
}

ResolverConfig parse_resolv_conf(std::string_view text) {
    ResolverConfig config;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        std::vector<std::string> words = split_tokens(line, " \t\r");
        if (words.empty()) continue;
        if (words[0] == "nameserver" && words.size() > 1) {
            if (config.servers.size() >= kMaxResolvConfServers) continue;
            std::string_view addr = words[1];
            if (auto percent = addr.find('%'); percent != std::string_view::npos) addr = addr.substr(0, percent);
            if (auto parsed = InetAddr::parse(addr)) config.servers.push_back(make_endpoint(*parsed, kDnsPort));
        } else if (words[0] == "options") {
            for (std::size_t i = 1; i < words.size(); ++i) {
                std::string_view opt = words[i];
                if (opt.starts_with("timeout:")) {
                    config.timeout = std::max(1, option_value(opt.substr(8), kMaxTimeout));
                } else if (opt.starts_with("attempts:")) {
                    config.attempts = std::max(1, option_value(opt.substr(9), kMaxAttempts));
                } else if (opt == "rotate") {
                    config.rotate = true;
                }
            }
        }
    }
    if (config.servers.empty()) config.servers.push_back(make_endpoint(*InetAddr::parse("127.0.0.1"), kDnsPort));
    return config;
}

ResolverConfig read_resolv_conf(const std::string& path) {
    std::ifstream in(path);
    if (!in) return parse_resolv_conf("");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_resolv_conf(text.str());
}

std::vector<udp::endpoint> parse_nameservers(std::string_view value) {
    std::vector<udp::endpoint> out;
    for (const std::string& item : split_tokens(value)) {
        std::string_view host = item;
        std::optional<std::uint16_t> port = kDnsPort;
        if (host.starts_with('[')) {
            auto close = host.find(']');
            if (close == std::string_view::npos) throw ConfigError("bad dnsblog_nameservers item: " + item);
            std::string_view rest = host.substr(close + 1);
            host = host.substr(1, close - 1);
            if (!rest.empty()) port = rest.starts_with(':') ? parse_port(rest.substr(1)) : std::nullopt;
        } else if (std::count(host.begin(), host.end(), ':') == 1) {
            auto colon = host.find(':');
            port = parse_port(host.substr(colon + 1));
            host = host.substr(0, colon);
        }
        auto address = InetAddr::parse(host);
        if (!address || !port) throw ConfigError("bad dnsblog_nameservers item: " + item);
        out.push_back(make_endpoint(*address, *port));
    }
    if (out.size() > kMaxNameservers)
        throw ConfigError("too many dnsblog_nameservers (at most " + std::to_string(kMaxNameservers) + ")");
    return out;
}

std::string endpoint_text(const udp::endpoint& endpoint) {
    std::string host = endpoint.address().to_string();
    if (endpoint.address().is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(endpoint.port());
}

} // namespace psm::dnsblog
