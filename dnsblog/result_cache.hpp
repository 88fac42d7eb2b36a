// The DNSBL result cache: one entry per query name (that is, per list and
// client address) holding the A records of a positive answer or the fact
// of a negative one, until its DNS TTL runs out (negative answers: the SOA
// record's TTL, as stock dnsblog reports it). Bounded: the least recently
// used entry goes first. Failures are never cached.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace psm::dnsblog {

struct CachedResult {
    std::vector<std::array<std::uint8_t, 4>> addresses; // empty = not listed
    int ttl = -1;                                       // seconds left, as a resolver cache reports it
};

class ResultCache {
public:
    using Clock = std::chrono::steady_clock;

    // capacity 0 disables the cache. Entries live at most max_ttl seconds.
    explicit ResultCache(std::size_t capacity, int max_ttl = 86400);

    // A live entry (refreshing its LRU position), with its remaining TTL.
    std::optional<CachedResult> find(const std::string& qname, Clock::time_point now = Clock::now());

    // Stores an answer with its TTL; ttl <= 0 is not stored.
    void store(const std::string& qname, const std::vector<std::array<std::uint8_t, 4>>& addresses, int ttl,
               Clock::time_point now = Clock::now());

    std::size_t size() const { return map_.size(); }
    std::size_t capacity() const { return capacity_; }
    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }

private:
    struct Entry {
        std::string qname;
        std::vector<std::array<std::uint8_t, 4>> addresses;
        Clock::time_point expiry;
    };
    using List = std::list<Entry>;

    std::size_t capacity_;
    int max_ttl_;
    List lru_; // most recently used first
    // Keyed by the entry's own qname (list nodes never move): one copy of
    // the name per entry.
    std::unordered_map<std::string_view, List::iterator> map_;
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
};

} // namespace psm::dnsblog
