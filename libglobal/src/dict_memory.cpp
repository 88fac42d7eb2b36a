// In-memory exact-key table behind texthash: and inline: (see dict_memory.hpp).
#include "dict_memory.hpp"

#include "dict_keys.hpp"

namespace psm::dict_types {

MemoryDict::MemoryDict(std::string_view type_and_name, const DictOpenOptions& options)
    : Dict(std::string(type_and_name)), fold_(options.fold_case), utf8_(options.utf8) {}

std::string MemoryDict::stored_key(std::string_view key) const {
    key = dict_keys::c_string(key);
    return fold_ ? dict_keys::fold(key, utf8_) : std::string(key);
}

bool MemoryDict::contains(std::string_view key) const {
    return index_.count(stored_key(key)) != 0;
}

void MemoryDict::put(std::string_view key, std::string_view value) {
    std::string k = stored_key(key);
    std::string v(dict_keys::c_string(value));
    if (auto it = index_.find(k); it != index_.end()) {
        entries_[it->second].second = std::move(v);
        return;
    }
    index_.emplace(k, entries_.size());
    entries_.emplace_back(std::move(k), std::move(v));
}

DictLookup MemoryDict::lookup(std::string_view key) {
    DictLookup result;
    if (auto it = index_.find(stored_key(key)); it != index_.end()) {
        result.status = DictStatus::found;
        result.value = entries_[it->second].second;
    }
    return result;
}

DictStatus MemoryDict::sequence(bool first, std::string& key, std::string& value) {
    if (first) cursor_ = 0;
    if (cursor_ >= entries_.size()) return DictStatus::not_found;
    key = entries_[cursor_].first;
    value = entries_[cursor_].second;
    ++cursor_;
    return DictStatus::found;
}

} // namespace psm::dict_types
