// The recently seen cache records (see cache_recent.hpp).
#include "cache_recent.hpp"

#include <utility>

namespace psm::postscreen {

RecentRecords::RecentRecords(std::size_t capacity) : generation_size_(capacity < 2 ? 1 : capacity / 2) {}

void RecentRecords::make_room() {
    if (current_.size() < generation_size_) return;
    previous_ = std::move(current_);
    current_ = Generation();
}

const std::optional<std::string>* RecentRecords::find(const std::string& key) {
    if (auto it = current_.find(key); it != current_.end()) return &it->second;
    auto old = previous_.extract(key);
    if (old.empty()) return nullptr;
    make_room();
    return &current_.insert(std::move(old)).position->second;
}

void RecentRecords::remember(const std::string& key, std::optional<std::string> value) {
    if (auto it = current_.find(key); it != current_.end()) {
        it->second = std::move(value);
        return;
    }
    previous_.erase(key);
    make_room();
    current_.emplace(key, std::move(value));
}

void RecentRecords::forget(const std::string& key) {
    current_.erase(key);
    previous_.erase(key);
}

void RecentRecords::clear() {
    current_ = Generation();
    previous_ = Generation();
}

} // namespace psm::postscreen
