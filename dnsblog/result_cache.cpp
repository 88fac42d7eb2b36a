// ResultCache: LRU list plus hash index, TTL-bounded entries (result_cache.hpp).
#include "result_cache.hpp"

#include <algorithm>

namespace psm::dnsblog {

ResultCache::ResultCache(std::size_t capacity, int max_ttl) : capacity_(capacity), max_ttl_(max_ttl) {}

std::optional<CachedResult> ResultCache::find(const std::string& qname, Clock::time_point now) {
    auto it = map_.find(qname);
    if (it == map_.end()) {
        ++misses_;
        return std::nullopt;
    }
    auto entry = it->second;
    // Whole seconds left, rounded up: a fresh entry reports its full TTL.
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(entry->expiry - now).count();
    auto left = (left_ms + 999) / 1000;
    if (left_ms <= 0) {
        lru_.erase(entry);
        map_.erase(it);
        ++misses_;
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, entry);
    ++hits_;
    CachedResult out;
    out.addresses = entry->addresses;
    out.ttl = static_cast<int>(left);
    return out;
}

void ResultCache::store(const std::string& qname, const std::vector<std::array<std::uint8_t, 4>>& addresses, int ttl,
                        Clock::time_point now) {
    if (capacity_ == 0 || ttl <= 0) return;
    const auto expiry = now + std::chrono::seconds(std::min(ttl, max_ttl_));
    if (auto it = map_.find(qname); it != map_.end()) {
        it->second->addresses = addresses;
        it->second->expiry = expiry;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    if (map_.size() >= capacity_) {
        map_.erase(lru_.back().qname);
        lru_.pop_back();
    }
    lru_.push_front(Entry{qname, addresses, expiry});
    map_.emplace(qname, lru_.begin());
}

} // namespace psm::dnsblog
