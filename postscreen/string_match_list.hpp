// String match lists as Postfix's string_list (match_list + match_string),
// for postscreen_forbidden_commands: items separated by comma/white space,
// "!" negates, "/file/name" reads items from a file, "type:table" matches
// when the table has the string; plain items compare case-insensitively.
// The first matching item decides. Strings and patterns are case-folded.
#pragma once

#include "psm/global/dict.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace psm::postscreen {

enum class StringMatch { no_match, match, error };

class StringMatchList {
public:
    // `pname` names the list in warnings (the parameter name). Throws
    // ConfigError: "PNAME: no pattern after '!'", a malformed table name.
    StringMatchList(std::string pname, std::string_view patterns, const DictOpenOptions& table_options);
    ~StringMatchList();
    StringMatchList(StringMatchList&&) noexcept;
    StringMatchList& operator=(StringMatchList&&) noexcept;

    // A table error is logged ("PNAME: TYPE:NAME: table lookup problem") and
    // ends the search.
    StringMatch match(std::string_view text) const;

    bool empty() const { return items_.empty(); }

private:
    struct Item {
        bool positive = true;
        std::string pattern;         // case-folded; empty for a table
        std::unique_ptr<Dict> table; // type:table
    };
    void parse(std::string_view text, bool positive, const DictOpenOptions& options, int depth);

    std::string pname_;
    std::vector<Item> items_;
};

} // namespace psm::postscreen
