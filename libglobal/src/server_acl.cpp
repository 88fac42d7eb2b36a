// postscreen_access_list evaluation (see server_acl.hpp).
#include "psm/global/server_acl.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

namespace psm {

namespace {

constexpr std::string_view kSeparators = ", \t\r\n";

DictOpenOptions table_open_options(DictOpenOptions options) {
    options.writable = false;
    options.fold_case = true;
    return options;
}

} // namespace

ServerAcl::ServerAcl(std::string_view acl, std::string_view mynetworks, std::string origin,
                     const DictOpenOptions& table_options)
    : origin_(std::move(origin)), mynetworks_(origin_, mynetworks, table_open_options(table_options)) {
    DictOpenOptions options = table_open_options(table_options);
    for (std::string& item : split_tokens_braced(acl, kSeparators)) {
        if (item.find(':') != std::string::npos && tables_.find(item) == tables_.end())
            tables_.emplace(item, dict_open(item, options));
        items_.push_back(std::move(item));
    }
}

AclResult ServerAcl::evaluate(std::string_view client_addr) const {
    return eval_list(client_addr, items_, origin_);
}

// A table result: a single word is used as is; a list is split, and a
// table inside it ends the list with "dunno" after a warning.
std::vector<std::string> ServerAcl::parse_result(std::string_view value, const std::string& table) const {
    if (value.find_first_of(":, \t\r\n") == std::string_view::npos) return {std::string(value)};
    std::vector<std::string> list;
    for (std::string& item : split_tokens_braced(value, kSeparators)) {
        if (item.find(':') != std::string::npos) {
            msg_warn("table %s: lookup result \"%s\" is not allowed -- ignoring remainder of access list",
                     table.c_str(), item.c_str());
            list.emplace_back("dunno");
            break;
        }
        list.push_back(std::move(item));
    }
    return list;
}

AclResult ServerAcl::eval_list(std::string_view client_addr, const std::vector<std::string>& list,
                               const std::string& origin) const {
    for (const std::string& acl : list) {
        if (iequals(acl, "reject")) return AclResult::reject;
        if (iequals(acl, "permit")) return AclResult::permit;
        if (iequals(acl, "permit_mynetworks")) {
            AddrMatch m = mynetworks_.match(client_addr);
            if (m == AddrMatch::match) return AclResult::permit;
            if (m == AddrMatch::error) {
                msg_warn("%s: %s: mynetworks lookup error -- ignoring the remainder of this access list",
                         origin.c_str(), acl.c_str());
                return AclResult::error;
            }
            continue;
        }
        if (acl.find(':') != std::string::npos) {
            auto it = tables_.find(acl);
            if (it == tables_.end()) { // a table inside a table result never gets here
                msg_warn("%s: unknown command: %s -- ignoring the remainder of this access list", origin.c_str(),
                         acl.c_str());
                return AclResult::error;
            }
            DictLookup result = it->second->lookup(client_addr);
            if (result.found()) {
                AclResult inner = eval_list(client_addr, parse_result(result.value, acl), acl);
                if (inner != AclResult::dunno) return inner;
                continue;
            }
            if (result.failed()) {
                msg_warn("%s: %s: table lookup error -- ignoring the remainder of this access list", origin.c_str(),
                         acl.c_str());
                return AclResult::error;
            }
            continue;
        }
        if (iequals(acl, "dunno")) return AclResult::dunno;
        msg_warn("%s: unknown command: %s -- ignoring the remainder of this access list", origin.c_str(), acl.c_str());
        return AclResult::error;
    }
    return AclResult::dunno;
}

} // namespace psm
