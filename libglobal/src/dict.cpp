// The lookup-table registry and dict_open("type:name"), plus the default
// (unsupported) write and sequence operations of the Dict base class.
#include "psm/global/dict.hpp"

#include "dict_surrogate.hpp"
#include "dict_types.hpp"
#include "dict_utf8.hpp"
#include "psm/util/error.hpp"

#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace psm {

DictStatus Dict::update(std::string_view, std::string_view) {
    return DictStatus::error;
}
DictStatus Dict::remove(std::string_view) {
    return DictStatus::error;
}
DictStatus Dict::sequence(bool, std::string&, std::string&) {
    return DictStatus::error;
}

namespace {

struct Registry {
    std::mutex lock;
    std::map<std::string, DictFactory, std::less<>> factories;

    Registry() {
        factories.emplace("cidr", dict_types::make_cidr);
        factories.emplace("texthash", dict_types::make_texthash);
        factories.emplace("inline", dict_types::make_inline);
        factories.emplace("static", dict_types::make_static);
        factories.emplace("regexp", dict_types::make_regexp);
        factories.emplace("btree", dict_types::make_btree);
        factories.emplace("hash", dict_types::make_hash);
    }
};

Registry& registry() {
    static Registry instance;
    return instance;
}

} // namespace

void dict_register(std::string_view type, DictFactory factory) {
    auto& r = registry();
    std::lock_guard guard(r.lock);
    r.factories.insert_or_assign(std::string(type), std::move(factory));
}

std::unique_ptr<Dict> dict_open(std::string_view type_and_name, const DictOpenOptions& options) {
    // Stock wording (dict_open.c) for a missing colon or an empty part.
    auto colon = type_and_name.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == type_and_name.size())
        throw ConfigError("open dictionary: expecting \"type:name\" form instead of \"" + std::string(type_and_name) +
                          "\"");
    std::string_view type = type_and_name.substr(0, colon);
    std::string_view name = type_and_name.substr(colon + 1);
    DictFactory factory;
    {
        auto& r = registry();
        std::lock_guard guard(r.lock);
        if (auto it = r.factories.find(type); it != r.factories.end()) factory = it->second;
    }
    auto dict =
        factory ? factory(type_and_name, name, options)
                : dict_types::open_failure(type_and_name, options, "unsupported dictionary type: " + std::string(type));
    if (options.utf8) dict = dict_types::utf8_guard(std::move(dict));
    return dict;
}

} // namespace psm
