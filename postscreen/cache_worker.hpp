// The cache worker: one thread that owns the cache table and does all of its
// Berkeley DB work - queued updates (one commit per batch), then queued
// lookups, then a few entries of a cleanup walk when one is due - and hands
// answers and log lines back through a sink (the store posts them to the
// event loop). Requests always go before cleanup; a walk never makes a
// lookup wait for more than one small step.
#pragma once

#include "cache_log.hpp"
#include "cache_queue.hpp"
#include "psm/global/dict.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace psm::postscreen {

// The answer to one lookup: the value, or none (no entry, or the lookup
// failed and was logged).
struct CacheAnswer {
    std::uint64_t id = 0;
    std::optional<std::string> value;
    bool failed = false;
};

// What one worker round hands back.
struct CacheDelivery {
    std::vector<CacheAnswer> answers;
    std::vector<std::uint64_t> flushed;                                        // flush ids now on disk
    std::vector<std::string> dropped;                                          // keys the cleanup removed
    CacheLog log;
    bool empty() const { return answers.empty() && flushed.empty() && dropped.empty() && log.lines.empty(); }
};

class CacheWorker {
public:
    static constexpr std::size_t kCleanupStep = 64;  // entries examined between requests
    static constexpr long kCleanupCommitSeconds = 1; // how long cleanup deletes may wait for a commit

    using Sink = std::function<void(CacheDelivery&&)>; // called on the worker thread

    struct Settings {
        std::string name;   // "btree:/path", for log lines
        long interval = 0;  // postscreen_cache_cleanup_interval (0: never)
        long retention = 0; // postscreen_cache_retention_time
    };

    CacheWorker(std::unique_ptr<Dict> dict, Settings settings, CacheQueue& queue, Sink sink);
    ~CacheWorker(); // joins
    CacheWorker(const CacheWorker&) = delete;
    CacheWorker& operator=(const CacheWorker&) = delete;

    // Waits for the thread to finish (after CacheQueue::stop()); returns the
    // log lines of its last round (the partial cleanup line), which the
    // caller writes itself.
    std::vector<CacheLogLine> join();

private:
    void run();

    std::unique_ptr<Dict> dict_;
    Settings settings_;
    CacheQueue& queue_;
    Sink sink_;
    std::vector<CacheLogLine> last_words_;
    std::thread thread_;
};

} // namespace psm::postscreen
