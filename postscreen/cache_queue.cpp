// Requests between the event loop and the cache worker (see cache_queue.hpp).
#include "cache_queue.hpp"

namespace psm::postscreen {

CacheQueue::Pushed CacheQueue::push_update(const std::string& key, std::string value) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = update_index_.find(key); it != update_index_.end()) {
            updates_[it->second].second = std::move(value);
            return Pushed::replaced;
        }
        if (updates_.size() >= max_updates_) return Pushed::full;
        update_index_.emplace(key, updates_.size());
        updates_.emplace_back(key, std::move(value));
    }
    return Pushed::queued;
}

CacheQueue::LookupPush CacheQueue::push_lookup(std::uint64_t id, const std::string& key) {
    LookupPush result;
    {
        std::lock_guard lock(mutex_);
        if (auto it = update_index_.find(key); it != update_index_.end()) {
            result.result = LookupPush::Result::answered;
            result.value = updates_[it->second].second;
            return result;
        }
        if (lookups_.size() >= max_lookups_) {
            result.result = LookupPush::Result::full;
            return result;
        }
        lookups_.emplace_back(id, key);
    }
    return result;
}

void CacheQueue::wake() {
    ready_.notify_one();
}

void CacheQueue::push_flush(std::uint64_t id) {
    {
        std::lock_guard lock(mutex_);
        flushes_.push_back(id);
    }
    ready_.notify_one();
}

void CacheQueue::request_cleanup(const PscEnabledTests& enabled) {
    {
        std::lock_guard lock(mutex_);
        cleanup_ = enabled;
    }
    ready_.notify_one();
}

void CacheQueue::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    ready_.notify_one();
}

CacheQueue::Batch CacheQueue::take_locked() {
    Batch batch;
    batch.updates.swap(updates_);
    update_index_.clear();
    batch.lookups.swap(lookups_);
    batch.flushes.swap(flushes_);
    batch.cleanup = std::exchange(cleanup_, std::nullopt);
    batch.stop = stop_;
    return batch;
}

CacheQueue::Batch CacheQueue::take(std::optional<std::chrono::steady_clock::time_point> wake_at) {
    std::unique_lock lock(mutex_);
    auto has_work = [&] { return !updates_.empty() || !lookups_.empty() || !flushes_.empty() || cleanup_ || stop_; };
    if (wake_at)
        ready_.wait_until(lock, *wake_at, has_work);
    else
        ready_.wait(lock, has_work);
    return take_locked();
}

CacheQueue::Batch CacheQueue::take_now() {
    std::lock_guard lock(mutex_);
    return take_locked();
}

std::size_t CacheQueue::queued_updates() const {
    std::lock_guard lock(mutex_);
    return updates_.size();
}

std::size_t CacheQueue::queued_lookups() const {
    std::lock_guard lock(mutex_);
    return lookups_.size();
}

} // namespace psm::postscreen
