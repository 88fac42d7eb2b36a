// Address match lists as Postfix's addr_match_list (mynetworks,
// postscreen_allowlist_interfaces): items "addr", "[addr]", "addr/len",
// "[v6addr]/len", "!item", "/file/name" (its lines are items) and
// "type:table" (any value found matches); first match wins. Tables are
// opened at construction; a lookup error or a bad net/mask pattern is
// reported (warning) and distinguishable from "no match".
#pragma once

#include "psm/global/dict.hpp"
#include "psm/util/inet_addr.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psm {

enum class AddrMatch { no_match, match, error };

class AddrMatchList {
public:
    // `pname` names the list in messages (stock passes the parameter name,
    // e.g. "mynetworks"; postscreen's access list passes
    // "postscreen_access_list" for its mynetworks). Tables are opened with
    // `table_options` (read-only, keys case-folded). Throws ConfigError:
    // "PNAME: no pattern after '!'", an unreadable /file/name (unless
    // table_options.allow_surrogate, as for a daemon), a bad table name.
    AddrMatchList(std::string pname, std::string_view patterns, const DictOpenOptions& table_options = {});
    ~AddrMatchList();
    AddrMatchList(AddrMatchList&&) noexcept;
    AddrMatchList& operator=(AddrMatchList&&) noexcept;

    // Matches a client or server IP address string (no brackets). Errors
    // are logged as stock does with MATCH_FLAG_RETURN:
    //   warning: PNAME: TYPE:NAME: table lookup problem
    //   warning: PNAME: bad net/mask pattern text (cidr_match wording)
    AddrMatch match(std::string_view address) const;

    const std::string& pname() const { return pname_; }
    bool empty() const { return items_.empty(); }

private:
    struct Item {
        bool positive = true;
        std::string pattern;         // case-folded; empty for a table
        std::unique_ptr<Dict> table; // type:table and unreadable /file/name
        // A net/mask pattern, parsed once; a bad one keeps the warning it
        // gives at match time, as stock's does.
        bool net_mask = false;
        bool v6 = false; // the pattern has a ':'
        std::optional<CidrBlock> block;
        std::string block_error;
    };
    void parse(std::string_view text, bool positive, const DictOpenOptions& options, int depth);

    std::string pname_;
    std::vector<Item> items_;
};

} // namespace psm
