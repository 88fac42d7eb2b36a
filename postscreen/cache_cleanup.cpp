// The cache cleanup walk (see cache_cleanup.hpp).
#include "cache_cleanup.hpp"

#include <cstdlib>

namespace psm::postscreen {

long first_cleanup_delay(const std::optional<std::string>& last_completed, long interval, std::time_t now) {
    if (!last_completed) return 0;
    long next = interval + static_cast<long>(static_cast<unsigned long>(std::atol(last_completed->c_str()))) -
                static_cast<long>(now);
    if (next < 0) return 0;
    return next > interval ? interval : next;
}

void CleanupWalk::report(const char* full_partial, CacheLog& log) const {
    log.info("cache " + name_ + " " + full_partial + " cleanup: retained=" + std::to_string(retained_) +
             " dropped=" + std::to_string(dropped_) + " entries");
}

CleanupWalk::Status CleanupWalk::step(std::size_t max_entries, std::time_t now, CacheLog& log,
                                      std::vector<std::string>* dropped_keys) {
    std::string key, value;
    for (std::size_t n = 0; n < max_entries; ++n) {
        DictStatus status = dict_.sequence(!started_, key, value);
        started_ = true;
        if (status == DictStatus::found && key == kCacheCleanupKey) status = dict_.sequence(false, key, value);
        if (status == DictStatus::error) {
            log.warning(name_ + ": sequence error");
            log.warning(name_ + ": cache cleanup scan terminated due to error");
            report("partial", log);
            started_ = false;
            retained_ = dropped_ = 0;
            return Status::failed;
        }
        if (status == DictStatus::not_found) {
            report("full", log);
            started_ = false;
            retained_ = dropped_ = 0;
            if (dict_.update(kCacheCleanupKey, std::to_string(static_cast<long>(now))) == DictStatus::error)
                log.warning(name_ + ": could not update entry for " + std::string(kCacheCleanupKey));
            return Status::done;
        }
        if (CacheRecord::decode(value).expired_for_cleanup(now, retention_, enabled_)) {
            ++dropped_;
            // Removing the entry the walk just returned does not disturb it
            // (Dict::sequence), so stock's delete-behind is not needed: a
            // lookup of this key reports "not found" from now on, and an
            // update stores it again.
            if (dict_.remove(key) == DictStatus::error && delete_warnings_.allow(now))
                log.warning(name_ + ": could not delete entry for " + key);
            if (dropped_keys) dropped_keys->push_back(key);
        } else {
            ++retained_;
        }
    }
    return Status::more;
}

void CleanupWalk::stop(CacheLog& log) {
    if (started_ && (retained_ || dropped_)) report("partial", log);
    started_ = false;
    retained_ = dropped_ = 0;
}

} // namespace psm::postscreen
