// postscreen_dnsbl_sites: parsing of "domain[=filter][*weight]" items with
// stock's fatal wordings, the reply filter (ip_match: "127.0.0.[2..11;15]"),
// and the per-client scorer (score, reported DNSBL, pass/fail TTL) that
// postscreen and our weighted dnsblog share.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psm {

// A reply filter: four IPv4 fields, each a number or "[n;n..m;...]".
class DnsblFilter {
public:
    // Parses as Postfix's ip_match_parse(). On error returns nullopt and sets
    // *why to stock's text, e.g. `need "." at "127.0.0>.<"`-style context:
    // "need \".\" at \"127.0.0><\"".
    static std::optional<DnsblFilter> parse(std::string_view pattern, std::string* why = nullptr);

    bool matches(const std::array<std::uint8_t, 4>& address) const;
    // A dotted quad (inet_pton); anything else never matches.
    bool matches(std::string_view address) const;

private:
    std::array<std::bitset<256>, 4> octets_;
};

struct DnsblEntry {
    std::string filter_text;           // as configured ("" = no filter)
    std::optional<DnsblFilter> filter; // nullopt = any listed reply matches
    int weight = 1;
};

struct DnsblDomain {
    std::string domain;
    std::vector<DnsblEntry> entries; // configuration order
};

class DnsblSites {
public:
    DnsblSites() = default;

    // Parses the parameter value (items separated by commas/whitespace).
    // Throws ConfigError with stock's fatal text:
    //   bad DNSBL weight factor "x" in "d*x"
    //   bad DNSBL filter syntax: REASON
    //   bad DNSBL domain name "d" in "ITEM"
    // (a bad domain is first explained by valid_hostname's warning, logged).
    static DnsblSites parse(std::string_view value);

    bool empty() const { return domains_.empty(); }
    // Distinct domains in order of first appearance.
    const std::vector<DnsblDomain>& domains() const { return domains_; }
    const DnsblDomain* find(std::string_view domain) const;

private:
    std::vector<DnsblDomain> domains_;
};

// Postfix's valid_hostname(name, DO_GRIPE): logs the reason as a warning
// ("valid_hostname: misplaced delimiter: a..b") when the name is invalid.
bool dnsbl_valid_hostname(std::string_view name);

// Combines the dnsblog replies for one client as postscreen does.
class DnsblScorer {
public:
    struct Options {
        // Our dnsblog's choice: replies in 127.255.255.0/24 (DNSBL "query
        // refused"/error codes) count as "not listed". Off = stock.
        bool ignore_127_255_255 = false;
    };

    explicit DnsblScorer(const DnsblSites& sites);
    DnsblScorer(const DnsblSites& sites, Options options);

    // One reply, in arrival order: `addresses` is dnsblog's rbl_addr
    // (space-separated A records, "" = not listed), `ttl` its ttl (-1 =
    // unknown). Returns false (and changes nothing) when `domain` is not
    // configured.
    bool add_reply(std::string_view domain, std::string_view addresses, int ttl);

    int total() const { return total_; }
    // The domain whose entry contributed the largest weight (the first one
    // on ties), or "" when nothing matched.
    const std::string& reported_domain() const { return reported_domain_; }
    int reported_weight() const { return reported_weight_; }
    int pass_ttl() const { return pass_ttl_; }
    int fail_ttl() const { return fail_ttl_; }

    // fail_ttl if total() > 0, else pass_ttl; raised to min_ttl, then
    // capped at max_ttl (so "unknown" becomes min_ttl).
    int ttl(int min_ttl, int max_ttl) const;

private:
    const DnsblSites* sites_;
    Options options_;
    int total_ = 0;
    std::string reported_domain_;
    int reported_weight_ = 0;
    bool have_reported_ = false;
    int pass_ttl_ = -1;
    int fail_ttl_ = -1;
};

} // namespace psm
