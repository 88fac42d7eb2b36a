// postscreen_access_list evaluation as Postfix's server_acl: items
// permit_mynetworks, permit, reject, dunno (case-insensitive) and
// type:table, whose lookup result is itself evaluated as an access list
// without tables. Tables are opened once at construction; evaluation logs
// stock's warnings and returns permit / reject / dunno / error.
#pragma once

#include "psm/global/addr_match_list.hpp"
#include "psm/global/dict.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace psm {

enum class AclResult { permit, reject, dunno, error };

class ServerAcl {
public:
    // `acl` is the parameter value, `mynetworks` the mynetworks value used
    // by permit_mynetworks, `origin` the parameter name used in warnings
    // ("postscreen_access_list"). Tables are opened read-only with
    // case folding, from `table_options` otherwise. Throws ConfigError for
    // a table or mynetworks item that can't be opened (unless
    // table_options.allow_surrogate).
    ServerAcl(std::string_view acl, std::string_view mynetworks, std::string origin,
              const DictOpenOptions& table_options = {});

    // Evaluates the list for a client IP string (no brackets). Warnings:
    //   ORIGIN: unknown command: X -- ignoring the remainder of this access list
    //   ORIGIN: TYPE:NAME: table lookup error -- ignoring the remainder of this access list
    //   ORIGIN: permit_mynetworks: mynetworks lookup error -- ignoring the remainder of this access list
    //   table TYPE:NAME: lookup result "X" is not allowed -- ignoring remainder of access list
    // (inside a table result, ORIGIN is the table's name).
    AclResult evaluate(std::string_view client_addr) const;

    const std::string& origin() const { return origin_; }

private:
    AclResult eval_list(std::string_view client_addr, const std::vector<std::string>& list,
                        const std::string& origin) const;
    std::vector<std::string> parse_result(std::string_view value, const std::string& table) const;

    std::string origin_;
    AddrMatchList mynetworks_;
    std::vector<std::string> items_;
    std::map<std::string, std::unique_ptr<Dict>, std::less<>> tables_;
};

} // namespace psm
