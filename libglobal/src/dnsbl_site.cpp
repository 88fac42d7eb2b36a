// postscreen_dnsbl_sites parsing, reply filters and scoring (see dnsbl_site.hpp).
#include "psm/global/dnsbl_site.hpp"

#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <arpa/inet.h>

#include <climits>
#include <cstring>

namespace psm {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// ip_match's tokenizer: a decimal octet value (an error once above 255),
// or one literal character; '\0' is the end of the pattern.
class FilterTokens {
public:
    static constexpr int kNumber = 1000;
    static constexpr int kBadNumber = 1001;

    explicit FilterTokens(std::string_view text) : text_(text) {}

    int next() {
        start_ = pos_;
        if (pos_ >= text_.size()) return '\0';
        char c = text_[pos_];
        if (!is_digit(c)) {
            ++pos_;
            return static_cast<unsigned char>(c);
        }
        int type = kNumber;
        value_ = 0;
        for (; pos_ < text_.size() && is_digit(text_[pos_]); ++pos_) {
            if (type == kNumber) value_ = value_ * 10 + (text_[pos_] - '0');
            if (value_ > 255) type = kBadNumber;
        }
        return type;
    }

    int value() const { return value_; }
    bool at_end() const { return pos_ >= text_.size(); }

    // Stock's error context: " at \"BEFORE>TOKEN<AFTER\"" around the last token.
    std::string error(std::string_view what) const {
        std::string out(what);
        out += " at \"";
        out.append(text_.substr(0, start_)).append(">");
        out.append(text_.substr(start_, pos_ - start_)).append("<");
        out.append(text_.substr(pos_)).append("\"");
        return out;
    }

private:
    std::string_view text_;
    size_t pos_ = 0;
    size_t start_ = 0;
    int value_ = 0;
};

// sscanf("%d%c") == 1: optional blanks and sign, digits, nothing after.
// Out-of-range values wrap as stock's long-to-int conversion does.
std::optional<int> parse_weight(std::string_view text) {
    size_t i = 0;
    while (i < text.size() && is_space(text[i]))
        ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    size_t digits = i;
    unsigned long long magnitude = 0;
    bool saturated = false;
    for (; i < text.size() && is_digit(text[i]); ++i) {
        if (magnitude > (ULLONG_MAX - 9) / 10)
            saturated = true;
        else
            magnitude = magnitude * 10 + static_cast<unsigned>(text[i] - '0');
    }
    if (i == digits || i != text.size()) return std::nullopt;
    long long value;
    if (negative)
        value = saturated || magnitude > static_cast<unsigned long long>(LLONG_MAX) + 1
                    ? LLONG_MIN
                    : static_cast<long long>(0 - magnitude);
    else
        value = saturated || magnitude > static_cast<unsigned long long>(LLONG_MAX) ? LLONG_MAX
                                                                                    : static_cast<long long>(magnitude);
    return static_cast<int>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(value)));
}

// The TTL bookkeeping step: unknown or larger values take the reply's TTL
// (so an unknown reply TTL resets a known one, as 3.7 does).
void lower_ttl(int& slot, int ttl) {
    if (slot < 0 || slot > ttl) slot = ttl;
}

// The score is a C int in stock, whose sum wraps on overflow in practice
// (weights near INT_MAX are accepted); add the same way without UB.
int wrapping_add(int a, int b) {
    return static_cast<int>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}

} // namespace

std::optional<DnsblFilter> DnsblFilter::parse(std::string_view pattern, std::string* why) {
    auto fail = [&](std::string text) {
        if (why) *why = std::move(text);
        return std::nullopt;
    };
    // "[...]" around the whole pattern is dropped when its matching "]" is
    // the last character; otherwise the text is parsed as it is.
    std::string_view p = pattern;
    if (!p.empty() && p.front() == '[') {
        int level = 0;
        size_t close = std::string_view::npos;
        for (size_t i = 0; i < p.size(); ++i) {
            if (p[i] == '[') ++level;
            if (p[i] != ']') continue;
            if (--level == 0) {
                close = i;
                break;
            }
        }
        if (close == std::string_view::npos) return fail("missing \"]\" character");
        if (close + 1 == p.size()) p = p.substr(1, close - 1);
    }
    if (p.empty()) return fail("empty address pattern");

    DnsblFilter filter;
    FilterTokens tokens(p);
    for (int field = 0;; ++field) {
        int token = tokens.next();
        if (token == FilterTokens::kNumber) {
            filter.octets_[field].set(static_cast<size_t>(tokens.value()));
        } else if (token == '[') {
            for (;;) {
                if (tokens.next() != FilterTokens::kNumber) return fail(tokens.error("need decimal number 0..255"));
                int low = tokens.value();
                int look_ahead = tokens.next();
                if (look_ahead == '.') {
                    if (tokens.next() != '.' || tokens.next() != FilterTokens::kNumber || low > tokens.value())
                        return fail(tokens.error("numeric range error"));
                    for (int v = low; v <= tokens.value(); ++v)
                        filter.octets_[field].set(static_cast<size_t>(v));
                    look_ahead = tokens.next();
                } else {
                    filter.octets_[field].set(static_cast<size_t>(low));
                }
                if (look_ahead == ';') continue;
                if (look_ahead == ']') break;
                return fail(tokens.error("need \";\" or \"]\""));
            }
        } else {
            return fail(tokens.error("need decimal number 0..255 or \"[\""));
        }
        if (field == 3) {
            if (!tokens.at_end()) {
                tokens.next();
                return fail(tokens.error("garbage after pattern"));
            }
            return filter;
        }
        if (tokens.next() != '.') return fail(tokens.error("need \".\""));
    }
}

bool DnsblFilter::matches(const std::array<std::uint8_t, 4>& address) const {
    for (size_t i = 0; i < 4; ++i)
        if (!octets_[i].test(address[i])) return false;
    return true;
}

bool DnsblFilter::matches(std::string_view address) const {
    char buf[INET_ADDRSTRLEN + 1];
    if (address.size() >= sizeof(buf) || address.find('\0') != std::string_view::npos) return false;
    std::memcpy(buf, address.data(), address.size());
    buf[address.size()] = '\0';
    std::array<std::uint8_t, 4> bytes;
    if (::inet_pton(AF_INET, buf, bytes.data()) != 1) return false;
    return matches(bytes);
}

bool dnsbl_valid_hostname(std::string_view name) {
    constexpr size_t kMaxLabel = 63;
    constexpr size_t kMaxName = 255;
    std::string shown(name.substr(0, 100));
    if (name.empty()) {
        msg_warn("valid_hostname: empty hostname");
        return false;
    }
    size_t label_length = 0;
    bool non_numeric = false;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool last = i + 1 == name.size();
        if (is_alnum(c) || c == '_') {
            if (++label_length > kMaxLabel) {
                msg_warn("valid_hostname: hostname label too long: %s", shown.c_str());
                return false;
            }
            if (!is_digit(c)) non_numeric = true;
        } else if (c == '.') {
            if (label_length == 0 || last) {
                msg_warn("valid_hostname: misplaced delimiter: %s", shown.c_str());
                return false;
            }
            label_length = 0;
        } else if (c == '-') {
            if (++label_length == 1 || last || name[i + 1] == '.') {
                msg_warn("valid_hostname: misplaced hyphen: %s", shown.c_str());
                return false;
            }
        } else {
            msg_warn("valid_hostname: invalid character %d(decimal): %s", static_cast<unsigned char>(c), shown.c_str());
            return false;
        }
    }
    if (!non_numeric) {
        msg_warn("valid_hostname: numeric hostname: %s", shown.c_str());
        return false;
    }
    if (name.size() > kMaxName) {
        msg_warn("valid_hostname: bad length %d for %s...", static_cast<int>(name.size()), shown.c_str());
        return false;
    }
    return true;
}

DnsblSites DnsblSites::parse(std::string_view value) {
    DnsblSites sites;
    for (const std::string& item : split_tokens(value, ", \t\r\n")) {
        std::string_view rest = item;
        DnsblEntry entry;
        if (auto star = rest.find('*'); star != std::string_view::npos) {
            std::string_view weight_text = rest.substr(star + 1);
            auto weight = parse_weight(weight_text);
            if (!weight)
                throw ConfigError("bad DNSBL weight factor \"" + std::string(weight_text) + "\" in \"" + item + "\"");
            entry.weight = *weight;
            rest = rest.substr(0, star);
        }
        if (auto eq = rest.find('='); eq != std::string_view::npos) {
            entry.filter_text = std::string(rest.substr(eq + 1));
            std::string why;
            entry.filter = DnsblFilter::parse(entry.filter_text, &why);
            if (!entry.filter) throw ConfigError("bad DNSBL filter syntax: " + why);
            rest = rest.substr(0, eq);
        }
        if (!dnsbl_valid_hostname(rest))
            throw ConfigError("bad DNSBL domain name \"" + std::string(rest) + "\" in \"" + item + "\"");
        DnsblDomain* domain = nullptr;
        for (auto& d : sites.domains_)
            if (d.domain == rest) domain = &d;
        if (domain == nullptr) {
            sites.domains_.emplace_back();
            domain = &sites.domains_.back();
            domain->domain = std::string(rest);
        }
        domain->entries.push_back(std::move(entry));
    }
    return sites;
}

const DnsblDomain* DnsblSites::find(std::string_view domain) const {
    for (const auto& d : domains_)
        if (d.domain == domain) return &d;
    return nullptr;
}

DnsblScorer::DnsblScorer(const DnsblSites& sites) : DnsblScorer(sites, Options()) {}

DnsblScorer::DnsblScorer(const DnsblSites& sites, Options options) : sites_(&sites), options_(options) {}

bool DnsblScorer::add_reply(std::string_view domain, std::string_view addresses, int ttl) {
    const DnsblDomain* site = sites_->find(domain);
    if (site == nullptr) return false;
    std::vector<std::string> replies = split_tokens(addresses, " ");
    bool listed = !addresses.empty();
    if (options_.ignore_127_255_255) {
        std::erase_if(replies, [](const std::string& a) { return a.rfind("127.255.255.", 0) == 0; });
        listed = !replies.empty();
    }
    // Stock keeps a domain's entries newest first.
    for (auto it = site->entries.rbegin(); it != site->entries.rend(); ++it) {
        const DnsblEntry& entry = *it;
        if (listed) {
            bool hit = !entry.filter;
            for (size_t i = 0; !hit && i < replies.size(); ++i)
                hit = entry.filter->matches(replies[i]);
            if (hit) {
                if (!have_reported_ || reported_weight_ < entry.weight) {
                    reported_domain_ = site->domain;
                    reported_weight_ = entry.weight;
                    have_reported_ = true;
                }
                total_ = wrapping_add(total_, entry.weight);
            }
        }
        bool counts_against = listed == (entry.weight > 0);
        lower_ttl(counts_against ? fail_ttl_ : pass_ttl_, ttl);
    }
    return true;
}

int DnsblScorer::ttl(int min_ttl, int max_ttl) const {
    int result = total_ > 0 ? fail_ttl_ : pass_ttl_;
    if (result < min_ttl) result = min_ttl;
    if (result > max_ttl) result = max_ttl;
    return result;
}

} // namespace psm
