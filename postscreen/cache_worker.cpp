// The cache worker thread (see cache_worker.hpp).
#include "cache_worker.hpp"

#include "cache_cleanup.hpp"
#include "cache_delay.hpp"

#include <chrono>
#include <cstring>
#include <ctime>

namespace psm::postscreen {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

} // namespace

CacheWorker::CacheWorker(std::unique_ptr<Dict> dict, Settings settings, CacheQueue& queue, Sink sink)
    : dict_(std::move(dict)), settings_(std::move(settings)), queue_(queue), sink_(std::move(sink)) {
    thread_ = std::thread([this] { run(); });
}

CacheWorker::~CacheWorker() {
    if (thread_.joinable()) {
        queue_.stop();
        thread_.join();
    }
}

std::vector<CacheLogLine> CacheWorker::join() {
    if (thread_.joinable()) thread_.join();
    return std::move(last_words_);
}

void CacheWorker::run() {
    Dict& dict = *dict_;
    const std::string& name = settings_.name;
    DelayMonitor delays(name);
    RateLimit lookup_warnings, update_warnings;
    const bool cleanup_possible = settings_.interval > 0 && dict.supports_sequence();
    std::optional<CleanupWalk> walk;
    std::optional<PscEnabledTests> enabled; // set by start_cleanup()
    std::optional<Clock::time_point> next_walk;
    std::optional<Clock::time_point> dirty_since; // cleanup deletes not yet committed

    for (;;) {
        const bool walking = walk.has_value();
        CacheQueue::Batch batch = walking ? queue_.take_now() : queue_.take(next_walk);
        CacheDelivery out;
        const std::time_t now = std::time(nullptr);

        // Updates, made durable together.
        if (!batch.updates.empty()) {
            std::vector<double> put_ms;
            put_ms.reserve(batch.updates.size());
            for (const auto& [key, value] : batch.updates) {
                auto start = Clock::now();
                DictStatus status = dict.update(key, value);
                put_ms.push_back(ms_since(start));
                if (status == DictStatus::error && update_warnings.allow(now))
                    out.log.warning(name + ": could not update entry for " + key);
            }
            auto start = Clock::now();
            bool committed = dict.flush();
            double commit_ms = ms_since(start);
            if (committed) {
                dirty_since.reset();
            } else if (update_warnings.allow(now)) {
                out.log.warning(name + ": could not update entry for " + batch.updates.front().first + ": " +
                                std::strerror(errno));
            }
            for (double ms : put_ms)
                if (auto warning = delays.record(DelayMonitor::Operation::update, ms + commit_ms, now))
                    out.log.warning(*warning);
        }

        // Lookups see every update taken so far.
        for (auto& [id, key] : batch.lookups) {
            auto start = Clock::now();
            DictLookup result = dict.lookup(key);
            if (auto warning = delays.record(DelayMonitor::Operation::lookup, ms_since(start), now))
                out.log.warning(*warning);
            if (result.failed() && lookup_warnings.allow(now))
                out.log.warning(name + ": cache lookup for '" + key + "' failed due to error");
            out.answers.push_back({id, result.found() ? std::optional<std::string>(std::move(result.value)) : std::nullopt,
                                   result.failed()});
        }

        // Cleanup: schedule the first walk, or examine the next few entries.
        if (batch.cleanup && cleanup_possible && !enabled) {
            enabled = batch.cleanup;
            DictLookup last = dict.lookup(kCacheCleanupKey);
            long delay = first_cleanup_delay(last.found() ? std::optional<std::string>(last.value) : std::nullopt,
                                             settings_.interval, now);
            next_walk = Clock::now() + std::chrono::seconds(delay);
        }
        if (!batch.stop && enabled && (walk || (next_walk && Clock::now() >= *next_walk))) {
            if (!walk) walk.emplace(dict, name, *enabled, settings_.retention);
            int dropped_before = walk->dropped();
            auto status = walk->step(kCleanupStep, now, out.log, &out.dropped);
            if (status != CleanupWalk::Status::more) {
                walk.reset();
                next_walk = Clock::now() + std::chrono::seconds(settings_.interval);
                dirty_since = Clock::now() - std::chrono::seconds(kCleanupCommitSeconds); // commit now
            } else if (walk->dropped() != dropped_before && !dirty_since) {
                dirty_since = Clock::now();
            }
        }
        if (batch.stop && walk) walk->stop(out.log);

        // Cleanup's deletes go to disk at least once a second, and before a
        // flush barrier or the end.
        if (dirty_since && (batch.stop || !batch.flushes.empty() ||
                            Clock::now() - *dirty_since >= std::chrono::seconds(kCleanupCommitSeconds))) {
            if (dict.flush())
                dirty_since.reset();
            else if (update_warnings.allow(now))
                out.log.warning(name + ": could not update entry for " + std::string(kCacheCleanupKey) + ": " +
                                std::strerror(errno));
        }
        out.flushed = std::move(batch.flushes);

        if (batch.stop) {
            last_words_ = std::move(out.log.lines);
            out.log.lines.clear();
            if (!out.empty()) sink_(std::move(out));
            dict_.reset(); // final commit, journal removed, lock released
            return;
        }
        if (!out.empty()) sink_(std::move(out));
    }
}

} // namespace psm::postscreen
