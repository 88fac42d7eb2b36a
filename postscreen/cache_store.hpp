// postscreen's temporary allowlist: the postscreen_cache_map file (btree: or
// hash:, the format stock postscreen writes), opened as stock opens it, with
// every Berkeley DB access on one worker thread so that the event loop never
// waits for the disk, and stock's periodic cleanup walk.
//
// Threads: lookup(), update(), start_cleanup(), flush() and close() are
// called on the io_context's thread; they only hand requests to the worker
// under a short mutex. The worker's lookup answers (and flush() callbacks)
// are posted back to the io_context; no user callback ever runs on the worker. When the
// file cannot be opened (stock's "error: open database ..."), the unusable
// stand-in table is used on the io_context's thread instead: every access
// fails at once with stock's warnings, and the cleanup walk fails as stock's.
//
// Ordering: requests are served in the order given. An update is visible to
// every later lookup of the same key at once (a lookup of a key whose update
// is still queued is answered from the queue). Under overload the queue
// stays bounded: a newer update of a key replaces one still queued for that
// key; when kMaxPendingUpdates distinct keys are queued, a new key's update
// is dropped (a rate-limited warning; the client is simply tested again next
// time); when kMaxPendingLookups lookups are queued, a new lookup is answered
// "not found" at once (the client runs the tests as a new client).
//
// The last kRecentRecords clients' records (or that there is none), as the
// worker answered or as updated since, are kept on the event loop
// (cache_recent.hpp): looking such a client up again does not involve the
// worker. The file has one writer, this process (the lock), and the cleanup
// walk reports the keys it drops, so what is kept stays what the file holds.
// A failed lookup is not kept.
//
// Crash safety: see cache_store.cpp (the page journal) and
// libglobal/src/db_journal.hpp. A failed write (e.g. a full file system) is
// logged ("NAME: could not update entry for KEY: REASON") and kept in memory
// for the next commit; stock exits (fatal) when a Berkeley DB write or sync
// fails. Each commit needs free space for its journal (old and new images
// of the changed pages), so on a full file system ours stops saving even
// when the file itself would not grow (stock then still can).
#pragma once

#include "psm/global/cache_record.hpp"
#include "psm/global/main_cf.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace psm::postscreen {

class CacheStore {
    struct Private { // only open() makes a store
        explicit Private() = default;
    };

public:
    static constexpr std::size_t kMaxPendingUpdates = 10000;
    static constexpr std::size_t kMaxPendingLookups = 10000;
    // Clients whose record (or its absence) is kept on the event loop, about
    // 100 bytes each (at most ~3.5 MB). A storm that comes back from more
    // addresses than this goes to the worker thread for every connection
    // (measured: 20,000 returning pregreeters cost ~20 % more CPU per session
    // with 8,192 than with 32,768).
    static constexpr std::size_t kRecentRecords = 32768;

    // Opens postscreen_cache_map before chroot (nullptr when the parameter is
    // empty), as stock does: a path in a directory not owned by mail_owner is
    // redirected into data_directory with stock's two warnings; the file is
    // created by mail_owner (when running as root) with mode 0600; an
    // exclusive non-blocking lock is held for the life of the store. Throws
    // ConfigError with stock's fatal wording, e.g.
    // "btree:/var/lib/postfix/postscreen_cache: unable to get exclusive lock:
    // Resource temporarily unavailable". postscreen_cache_cleanup_interval and
    // postscreen_cache_retention_time are read here too.
    static std::unique_ptr<CacheStore> open(boost::asio::io_context& io, const Config& config);

    ~CacheStore(); // close()
    CacheStore(const CacheStore&) = delete;
    CacheStore& operator=(const CacheStore&) = delete;

    // The map name after data_directory redirection, as stock logs it, e.g.
    // "btree:/var/lib/postfix/postscreen_cache".
    const std::string& name() const;

    // Looks up a client address; `done` gets the decoded record, or nullopt
    // when there is none (or the lookup failed: stock's rate-limited warning
    // is logged). It runs before lookup() returns when the answer is at hand
    // on the event loop (a kept record, a queued update, a failure, a full
    // queue, after close()); otherwise later from the io_context, once the
    // worker has read the file (or close() gave up waiting: nullopt).
    using LookupHandler = std::function<void(std::optional<CacheRecord>)>;
    void lookup(const std::string& client_addr, LookupHandler done);

    // Stores the record as stock's conclusion does (a still-new stamp of a
    // test that is disabled now is written as 1). Ignored after close().
    void update(const std::string& client_addr, const CacheRecord& record, const PscEnabledTests& enabled);

    // Periodic cleanup per postscreen_cache_cleanup_interval (0: never) and
    // postscreen_cache_retention_time: the first walk is due at the stored
    // _LAST_CACHE_CLEANUP_COMPLETED_ time + interval (at once when missing or
    // overdue, never later than one interval). An entry is dropped when some
    // test that is enabled per `enabled` expired more than the retention time
    // ago. Logs "cache NAME full cleanup: retained=N dropped=M entries".
    void start_cleanup(const PscEnabledTests& enabled);

    // `done` runs on the io_context once every update queued before this call
    // is on disk (tests, and anyone who needs a barrier).
    void flush(std::function<void()> done);

    // Drain/exit: stops the cleanup ("cache NAME partial cleanup: ..." when a
    // walk was under way and had examined entries), writes what is queued,
    // closes the file and releases the lock. Blocks until the worker is done
    // (one batch at most). Idempotent. Never call it from the worker.
    // Must be called before the process forks (the worker thread does not
    // survive a fork).
    void close();

    class Impl;
    CacheStore(Private, std::shared_ptr<Impl> impl);

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace psm::postscreen
