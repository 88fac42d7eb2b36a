// What the cache file said, or was told, about the clients seen lately, kept
// on the event loop: a returning client (PASS OLD) or a zombie that comes
// back is looked up without a round trip to the cache worker thread (two
// thread wake-ups and a Berkeley DB lookup per connection). Bounded by two
// generations: when the current one is full it becomes the previous one and
// the previous one is dropped; a key found in the previous generation moves
// to the current one, so what is in use stays.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

namespace psm::postscreen {

class RecentRecords {
public:
    // At most `capacity` keys (at least 2).
    explicit RecentRecords(std::size_t capacity);

    // nullptr when the key is not known here; otherwise the stored value, or
    // nullopt when the file has no entry for it. Valid until the next call.
    const std::optional<std::string>* find(const std::string& key);

    // The file's value for the key now (nullopt: no entry).
    void remember(const std::string& key, std::optional<std::string> value);

    void forget(const std::string& key);
    void clear();
    std::size_t size() const { return current_.size() + previous_.size(); }

private:
    using Generation = std::unordered_map<std::string, std::optional<std::string>>;
    void make_room();

    std::size_t generation_size_;
    Generation current_, previous_;
};

} // namespace psm::postscreen
