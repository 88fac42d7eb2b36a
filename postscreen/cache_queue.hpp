// The hand-off between the event loop and the cache worker: queued lookups,
// updates and flush barriers under one mutex, bounded. Updates are kept per
// key (a newer update of a queued key replaces the queued value), and a
// lookup of a key whose update is still queued is answered from the queue,
// so a client always sees its own latest PASS.
#pragma once

#include "psm/global/cache_record.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace psm::postscreen {

class CacheQueue {
public:
    CacheQueue(std::size_t max_updates, std::size_t max_lookups)
        : max_updates_(max_updates), max_lookups_(max_lookups) {}

    // ---- event-loop side
    // push_update() and push_lookup() do not wake the worker: call wake()
    // once after a run of them (one wake-up for a batch, not a thread
    // switch per client).
    enum class Pushed { queued, replaced, full };
    Pushed push_update(const std::string& key, std::string value);

    struct LookupPush {
        enum class Result { queued, answered, full } result = Result::queued;
        std::string value; // answered: the queued update's value
    };
    LookupPush push_lookup(std::uint64_t id, const std::string& key);
    void wake();
    void push_flush(std::uint64_t id);
    void request_cleanup(const PscEnabledTests& enabled);
    void stop();

    // ---- worker side
    struct Batch {
        std::vector<std::pair<std::string, std::string>> updates;   // key, value (queue order)
        std::vector<std::pair<std::uint64_t, std::string>> lookups; // id, key (queue order)
        std::vector<std::uint64_t> flushes;
        std::optional<PscEnabledTests> cleanup; // start_cleanup() was called
        bool stop = false;
        bool empty() const { return updates.empty() && lookups.empty() && flushes.empty() && !cleanup && !stop; }
    };
    // Everything queued; waits until there is something, or until `wake_at`
    // (if any) passes.
    Batch take(std::optional<std::chrono::steady_clock::time_point> wake_at);
    // Everything queued, without waiting.
    Batch take_now();

    std::size_t queued_updates() const;
    std::size_t queued_lookups() const;

private:
    Batch take_locked();

    const std::size_t max_updates_;
    const std::size_t max_lookups_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::vector<std::pair<std::string, std::string>> updates_;
    std::unordered_map<std::string, std::size_t> update_index_; // key -> position in updates_
    std::vector<std::pair<std::uint64_t, std::string>> lookups_;
    std::vector<std::uint64_t> flushes_;
    std::optional<PscEnabledTests> cleanup_;
    bool stop_ = false;
};

} // namespace psm::postscreen
