// Fuzz target: postscreen_dnsbl_sites values ("domain[=filter][*weight]"
// items) and the scorer fed replies for the parsed domains. Input: the
// parameter value, optionally followed by a NUL byte and reply lines
// "domain addresses" that go to the scorer (the addresses as dnsblog's
// rbl_addr, space-separated).
#include "fuzz_support.hpp"

#include "psm/global/dnsbl_site.hpp"
#include "psm/util/error.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    psm::fuzz::quiet_logging();
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view value = input.substr(0, input.find('\0'));
    std::string_view replies = value.size() < input.size() ? input.substr(value.size() + 1) : std::string_view{};

    psm::DnsblSites sites;
    try {
        sites = psm::DnsblSites::parse(value);
    } catch (const psm::ConfigError&) {
        return 0;
    }
    for (const auto& d : sites.domains())
        if (d.domain.empty() || d.entries.empty()) std::abort();

    psm::DnsblScorer scorer(sites);
    int ttl = 0;
    while (!replies.empty()) {
        std::string_view line = replies.substr(0, replies.find('\n'));
        replies.remove_prefix(std::min(replies.size(), line.size() + 1));
        std::string_view domain = line.substr(0, line.find(' '));
        std::string_view addresses = domain.size() < line.size() ? line.substr(domain.size() + 1) : "";
        scorer.add_reply(domain, addresses, ttl++ % 7 == 0 ? -1 : ttl);
        // The filter on its own, as it parses a single pattern.
        (void)psm::DnsblFilter::parse(addresses);
    }
    (void)scorer.ttl(60, 3600);
    return 0;
}
