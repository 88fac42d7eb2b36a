// Private (libglobal/src): an in-memory table with exact keys, the base of
// texthash: and inline: (Postfix's internal dict_ht). Keys are folded when
// stored and when looked up if the table folds case; the walk follows the
// order in which keys were first stored.
#pragma once

#include "psm/global/dict.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace psm::dict_types {

class MemoryDict : public Dict {
public:
    MemoryDict(std::string_view type_and_name, const DictOpenOptions& options);

    // The stored form of a key (folded when the table folds case).
    std::string stored_key(std::string_view key) const;
    bool contains(std::string_view key) const;
    // Inserts, or replaces the value of an existing key.
    void put(std::string_view key, std::string_view value);
    std::size_t size() const { return entries_.size(); }

    DictLookup lookup(std::string_view key) override;
    DictStatus sequence(bool first, std::string& key, std::string& value) override;
    bool supports_sequence() const override { return true; }

private:
    bool fold_;
    bool utf8_;
    std::vector<std::pair<std::string, std::string>> entries_;
    std::unordered_map<std::string, std::size_t> index_;
    std::size_t cursor_ = 0;
};

} // namespace psm::dict_types
