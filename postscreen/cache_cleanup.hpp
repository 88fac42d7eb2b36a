// The cache cleanup walk of stock postscreen (dict_cache's cleanup with
// postscreen's validator): examine every entry, drop those in which some
// currently enabled test expired longer than the retention time ago, skip
// the _LAST_CACHE_CLEANUP_COMPLETED_ entry, store the completion time in it
// at the end, and report "cache NAME full cleanup: retained=N dropped=M
// entries" (or "partial" when the walk stops early). Synchronous: the cache
// worker runs it a few entries at a time between requests.
#pragma once

#include "cache_log.hpp"
#include "psm/global/cache_record.hpp"
#include "psm/global/dict.hpp"

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace psm::postscreen {

// Seconds until the first walk after start-up: the stored completion time
// plus the interval, minus now, clamped to [0, interval]; 0 when nothing is
// stored. `last_completed` is the stored text (atol() semantics).
long first_cleanup_delay(const std::optional<std::string>& last_completed, long interval, std::time_t now);

class CleanupWalk {
public:
    CleanupWalk(Dict& dict, std::string name, const PscEnabledTests& enabled, long retention)
        : dict_(dict), name_(std::move(name)), enabled_(enabled), retention_(retention) {}

    enum class Status { more, done, failed };
    // Examines up to `max_entries` entries (dropping expired ones at once,
    // and adding their keys to `dropped_keys` when given) at time `now`. At
    // the end of the walk (done) it has logged the full line and stored
    // `now` under the special key; on a sequence error (failed) it has
    // logged the warning and the partial line.
    Status step(std::size_t max_entries, std::time_t now, CacheLog& log,
                std::vector<std::string>* dropped_keys = nullptr);

    bool started() const { return started_; }
    int retained() const { return retained_; }
    int dropped() const { return dropped_; }
    // The walk is abandoned (close): the partial line if any entry was examined.
    void stop(CacheLog& log);

private:
    void report(const char* full_partial, CacheLog& log) const;

    Dict& dict_;
    std::string name_;
    PscEnabledTests enabled_;
    long retention_;
    RateLimit delete_warnings_;
    bool started_ = false;
    int retained_ = 0;
    int dropped_ = 0;
};

} // namespace psm::postscreen
