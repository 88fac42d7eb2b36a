// ResultCache: LRU list plus hash index, TTL-bounded entries (result_cache.hpp).
#include "result_cache.hpp"

#include <algorithm>

namespace psm::dnsblog {

namespace {
// Buckets made up front: enough for the default capacity, so that a filling
// cache does not rehash (each rehash touches every entry) on the way.
constexpr std::size_t kMaxInitialBuckets = 1 << 17;
} // namespace

ResultCache::ResultCache(std::size_t capacity, int max_ttl) : capacity_(capacity), max_ttl_(max_ttl) {
    map_.reserve(std::min(capacity_, kMaxInitialBuckets));
}

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
        map_.erase(it); // before the entry its key refers to
        lru_.erase(entry);
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
    // The new entry goes in first, so that the index can refer to its name:
    // one probe of the index, whether the name is new or not.
    lru_.push_front(Entry{qname, addresses, expiry});
    auto [it, added] = map_.try_emplace(std::string_view(lru_.front().qname), lru_.begin());
    if (!added) {
        lru_.pop_front();
        it->second->addresses = addresses;
        it->second->expiry = expiry;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    if (map_.size() > capacity_) {
        map_.erase(std::string_view(lru_.back().qname));
        lru_.pop_back();
    }
}

} // namespace psm::dnsblog
