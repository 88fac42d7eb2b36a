// Address match lists (see addr_match_list.hpp), after Postfix's
// match_list + match_hostaddr semantics.
#include "psm/global/addr_match_list.hpp"

#include "dict_surrogate.hpp"

#include "psm/util/error.hpp"
#include "psm/util/inet_addr.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace psm {

namespace {

constexpr std::string_view kV4Chars = "01234567890.";
constexpr std::string_view kV6Chars = "01234567890.abcdefABCDEF:";
constexpr std::string_view kV6PatternChars = "01234567890.abcdefABCDEF:[]/";
constexpr int kMaxFileNesting = 20;

bool only_chars(std::string_view text, std::string_view allowed) {
    return text.find_first_not_of(allowed) == std::string_view::npos;
}

// Postfix's MATCH_DICTIONARY(): "type:name", but not "[v6addr]".
bool is_table(std::string_view item) {
    return !item.empty() && item.front() != '[' && item.find(':') != item.npos;
}

} // namespace

AddrMatchList::AddrMatchList(std::string pname, std::string_view patterns, const DictOpenOptions& table_options)
    : pname_(std::move(pname)) {
    DictOpenOptions options = table_options;
    options.writable = false;
    options.fold_case = true;
    parse(patterns, true, options, 0);
}

AddrMatchList::~AddrMatchList() = default;
AddrMatchList::AddrMatchList(AddrMatchList&&) noexcept = default;
AddrMatchList& AddrMatchList::operator=(AddrMatchList&&) noexcept = default;

void AddrMatchList::parse(std::string_view text, bool positive, const DictOpenOptions& options, int depth) {
    size_t cursor = 0;
    for (const std::string& token : split_tokens_braced(text)) {
        size_t at = text.find(token, cursor);
        cursor = at + token.size();
        if (token.front() == '#') {
            // Stock shows the text after the token and one delimiter.
            std::string rest(text.substr(std::min(text.size(), cursor + 1)));
            msg_warn("%s: comment at end of line is not supported: %s %s", pname_.c_str(), token.c_str(), rest.c_str());
            break;
        }
        bool match = positive;
        size_t bang = 0;
        while (bang < token.size() && token[bang] == '!') {
            match = !match;
            ++bang;
        }
        std::string_view item = std::string_view(token).substr(bang);
        if (item.empty()) throw ConfigError(pname_ + ": no pattern after '!'");
        Item entry;
        entry.positive = match;
        if (item.front() == '/') {
            std::string path(item);
            std::ifstream in(path);
            if (!in) {
                std::string reason = "open file " + path + ": " + std::strerror(errno);
                entry.table = dict_types::open_failure("non-existent:" + path, options, reason);
                items_.push_back(std::move(entry));
                continue;
            }
            if (depth >= kMaxFileNesting) throw ConfigError(pname_ + ": file " + path + " nested too deeply");
            for (std::string line; std::getline(in, line);)
                if (line.empty() || line.front() != '#') parse(line, match, options, depth + 1);
            if (in.bad()) throw ConfigError(pname_ + ": read file " + path + ": " + std::strerror(errno));
        } else if (is_table(item)) {
            entry.table = dict_open(item, options);
            items_.push_back(std::move(entry));
        } else {
            entry.pattern = lowercase(item);
            const std::string_view pattern = entry.pattern;
            // Only these can be net/mask patterns; the rest are compared as
            // text (a plain address) or never match (a host name, junk).
            entry.v6 = pattern.find(':') != std::string_view::npos;
            entry.net_mask = pattern.find_first_of(":/") != std::string_view::npos && !only_chars(pattern, kV4Chars) &&
                             only_chars(pattern, kV6PatternChars);
            if (entry.net_mask) entry.block = CidrBlock::parse(pattern, &entry.block_error);
            items_.push_back(std::move(entry));
        }
    }
}

AddrMatch AddrMatchList::match(std::string_view address) const {
    std::string addr = lowercase(address);
    // match_hostaddr() gives up on anything that can't be an address.
    if (!only_chars(addr, kV6Chars)) return AddrMatch::no_match;
    bool addr_v6 = addr.find(':') != std::string::npos;
    std::optional<InetAddr> parsed; // when a net/mask item needs it
    bool tried_parse = false;
    for (const Item& item : items_) {
        auto hit = [&] { return item.positive ? AddrMatch::match : AddrMatch::no_match; };
        if (item.table) {
            DictLookup result = item.table->lookup(addr);
            if (result.found()) return hit();
            if (result.failed()) {
                msg_warn("%s: %s: table lookup problem", pname_.c_str(), item.table->name().c_str());
                return AddrMatch::error;
            }
            continue;
        }
        std::string_view pattern = item.pattern;
        if (pattern.front() != '['
                ? pattern == addr
                : pattern.size() == addr.size() + 2 && pattern.back() == ']' && pattern.substr(1, addr.size()) == addr)
            return hit();
        // Rejected before converting to binary: the other family, a plain
        // address (compared above), a host name or other junk.
        if (addr_v6 != item.v6 || !item.net_mask) continue;
        if (!item.block) {
            msg_warn("%s: %s", pname_.c_str(), item.block_error.c_str());
            return AddrMatch::error;
        }
        if (!tried_parse) {
            parsed = InetAddr::parse(addr);
            tried_parse = true;
        }
        if (parsed && item.block->contains(*parsed)) return hit();
    }
    return AddrMatch::no_match;
}

} // namespace psm
