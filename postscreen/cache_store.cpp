// postscreen's temporary allowlist store (see cache_store.hpp): opening the
// map as stock does, and the event-loop side of the worker hand-off.
//
// Crash safety. Stock opens the cache without transactions and syncs the
// file after every update; a process killed while Berkeley DB writes the
// pages of one update (a page split writes several) leaves a file that
// db_verify rejects and that may lose entries or become unreadable. We keep
// the file byte-compatible with stock (a plain Berkeley DB btree/hash file,
// trailing-NUL records, no environment files) and open it with
// DictOpenOptions::crash_safe: Berkeley DB's writes are held in memory and
// committed once per worker batch through a page journal
// (NAME.db.journal, old and new page images, fsync'd before the file is
// touched); the next open completes or discards an interrupted commit, and
// never replays a journal onto a file that another program changed since.
// A Berkeley DB transactional environment was evaluated and rejected: after
// a kill the .db alone is inconsistent until our recovery runs (stock
// postscreen and postmap could not use it), every clean stop must rewrite
// all page LSNs (lsn_reset) before another environment may open the file,
// and its logs could be replayed onto a file stock modified meanwhile.
#include "cache_store.hpp"

#include "cache_cleanup.hpp"
#include "cache_log.hpp"
#include "cache_queue.hpp"
#include "cache_recent.hpp"
#include "cache_redirect.hpp"
#include "cache_worker.hpp"
#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <vector>

namespace psm::postscreen {

class CacheStore::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(boost::asio::io_context& io, std::string name)
        : io_(io), name_(std::move(name)), queue_(kMaxPendingUpdates, kMaxPendingLookups) {}

    void start(std::unique_ptr<Dict> dict, long interval, long retention) {
        CacheWorker::Settings settings;
        settings.name = name_;
        settings.interval = interval;
        settings.retention = retention;
        std::weak_ptr<Impl> weak = weak_from_this();
        auto& io = io_;
        worker_ = std::make_unique<CacheWorker>(std::move(dict), std::move(settings), queue_,
                                                [weak, &io](CacheDelivery&& delivery) {
                                                    boost::asio::post(io, [weak, d = std::move(delivery)]() mutable {
                                                        if (auto self = weak.lock()) self->deliver(std::move(d));
                                                    });
                                                });
    }

    // A table that cannot walk its entries is the unusable stand-in that a
    // failed open returns (a real btree:/hash: file always can): every access
    // fails at once, without I/O, and logs why. It is used right here on the
    // event loop, so that its log lines come from this thread; nothing to
    // wait for.
    void start_inline(std::unique_ptr<Dict> dict, long interval, long retention) {
        inline_ = std::move(dict);
        interval_ = interval;
        retention_ = retention;
    }

    const std::string& name() const { return name_; }

    void lookup(const std::string& key, LookupHandler done) {
        if (closed_) return answer_now(done, std::nullopt);
        if (inline_) {
            DictLookup result = inline_->lookup(key);
            if (result.failed() && lookup_error_.allow(std::time(nullptr)))
                msg_warn("%s: cache lookup for '%s' failed due to error", name_.c_str(), key.c_str());
            return answer_now(done, result.found() ? std::optional<CacheRecord>(CacheRecord::decode(result.value))
                                                   : std::nullopt);
        }
        if (const std::optional<std::string>* known = recent_.find(key))
            return answer_now(done, *known ? std::optional<CacheRecord>(CacheRecord::decode(**known)) : std::nullopt);
        std::uint64_t id = next_id_++;
        auto pushed = queue_.push_lookup(id, key);
        switch (pushed.result) {
        case CacheQueue::LookupPush::Result::queued:
            lookups_.emplace(id, PendingLookup{key, std::move(done)});
            ++keys_looked_up_[key].lookups;
            wake_worker_soon();
            break;
        case CacheQueue::LookupPush::Result::answered:
            answer_now(done, CacheRecord::decode(pushed.value));
            break;
        case CacheQueue::LookupPush::Result::full:
            if (lookup_full_.allow(std::time(nullptr)))
                msg_warn("%s: %zu cache lookups are waiting - not looking up %s", name_.c_str(), kMaxPendingLookups,
                         key.c_str());
            answer_now(done, std::nullopt);
            break;
        }
    }

    void update(const std::string& key, std::string value) {
        if (closed_) return;
        if (inline_) {
            if (inline_->update(key, value) == DictStatus::error && update_error_.allow(std::time(nullptr)))
                msg_warn("%s: could not update entry for %s", name_.c_str(), key.c_str());
            return;
        }
        // An answer to a lookup sent before this update is older than it.
        if (auto it = keys_looked_up_.find(key); it != keys_looked_up_.end()) it->second.updated = true;
        std::string remembered = value;
        if (queue_.push_update(key, std::move(value)) == CacheQueue::Pushed::full) {
            if (update_full_.allow(std::time(nullptr)))
                msg_warn("%s: %zu cache updates are waiting - not saving the entry for %s", name_.c_str(),
                         kMaxPendingUpdates, key.c_str());
            return;
        }
        wake_worker_soon();
        recent_.remember(key, std::move(remembered));
    }

    void start_cleanup(const PscEnabledTests& enabled) {
        if (closed_) return;
        if (!inline_) return queue_.request_cleanup(enabled);
        // As stock: the stored completion time is looked up (and fails), the
        // walk is due at once, fails at its first step, and is tried again
        // every interval.
        if (interval_ <= 0 || enabled_) return;
        enabled_ = enabled;
        DictLookup last = inline_->lookup(kCacheCleanupKey);
        long delay = first_cleanup_delay(last.found() ? std::optional<std::string>(last.value) : std::nullopt,
                                         interval_, std::time(nullptr));
        // Due now: before the first client, as stock's zero-delay timer.
        if (delay == 0)
            run_inline_walk();
        else
            schedule_inline_walk(delay);
    }

    void flush(std::function<void()> done) {
        if (closed_ || inline_) {
            boost::asio::post(io_, std::move(done));
            return;
        }
        std::uint64_t id = next_id_++;
        flushes_.emplace(id, std::move(done));
        queue_.push_flush(id);
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        if (inline_) {
            walk_timer_.cancel();
            inline_.reset();
            return;
        }
        queue_.stop();
        emit(worker_->join());
        worker_.reset();
        recent_.clear();
        keys_looked_up_.clear();
        // Whoever still waits is answered as if there were no cache (stock's
        // drain closes the cache and its sessions go on without it); a
        // session left waiting would never be decided.
        for (auto& [id, pending] : lookups_)
            answer_later(std::move(pending.done), std::nullopt);
        lookups_.clear();
        for (auto& [id, done] : flushes_)
            boost::asio::post(io_, std::move(done));
        flushes_.clear();
    }

private:
    void schedule_inline_walk(long delay) {
        walk_timer_.expires_after(std::chrono::seconds(delay));
        std::weak_ptr<Impl> weak = weak_from_this();
        walk_timer_.async_wait([weak](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!ec && self && self->inline_) self->run_inline_walk();
        });
    }

    void run_inline_walk() {
        CleanupWalk walk(*inline_, name_, *enabled_, retention_);
        CacheLog log;
        for (int steps = 0; steps < 1000; ++steps) // bounded: a stand-in fails at its first step
            if (walk.step(CacheWorker::kCleanupStep, std::time(nullptr), log) != CleanupWalk::Status::more) break;
        emit(log.lines);
        schedule_inline_walk(interval_);
    }

    // The worker is woken once for the lookups and updates that the
    // handlers ready now queue (the wake-up runs after them): waking it for
    // each one made every new client cost two thread switches on a busy
    // CPU, and the worker's batches stayed one lookup long.
    void wake_worker_soon() {
        if (wake_posted_) return;
        wake_posted_ = true;
        boost::asio::post(io_, [self = shared_from_this()] {
            self->wake_posted_ = false;
            self->queue_.wake();
        });
    }

    void answer_later(LookupHandler done, std::optional<CacheRecord> record) {
        boost::asio::post(io_, [done = std::move(done), record] { done(record); });
    }

    // An answer at hand on the event loop is given at once: a PASS OLD
    // client is then handed off in the turn it was accepted in.
    static void answer_now(const LookupHandler& done, std::optional<CacheRecord> record) { done(std::move(record)); }

    void deliver(CacheDelivery&& d) {
        emit(d.log.lines);
        for (auto& answer : d.answers) {
            auto it = lookups_.find(answer.id);
            if (it == lookups_.end()) continue;
            PendingLookup pending = std::move(it->second);
            lookups_.erase(it);
            remember_answer(pending.key, answer);
            const auto& value = answer.value;
            pending.done(value ? std::optional<CacheRecord>(CacheRecord::decode(*value)) : std::nullopt);
        }
        // After the answers: the worker answers a round's lookups before
        // its cleanup step, so a drop is newer than an answer beside it.
        for (const auto& key : d.dropped)
            recent_.forget(key);
        for (auto id : d.flushed) {
            auto it = flushes_.find(id);
            if (it == flushes_.end()) continue;
            auto done = std::move(it->second);
            flushes_.erase(it);
            done();
        }
    }

    // The worker's answer is what the file holds unless an update of the key
    // was made since the lookup was sent (then the update is newer and is
    // remembered already, or was dropped with a full queue), or the lookup
    // failed (the next one asks the file again, as stock's would).
    void remember_answer(const std::string& key, const CacheAnswer& answer) {
        auto it = keys_looked_up_.find(key);
        if (it == keys_looked_up_.end()) return;
        if (!it->second.updated && !answer.failed) recent_.remember(key, answer.value);
        if (--it->second.lookups == 0) keys_looked_up_.erase(it);
    }

    struct PendingLookup {
        std::string key;
        LookupHandler done;
    };
    struct KeyLookedUp {
        int lookups = 0;      // sent to the worker, not answered yet
        bool updated = false; // an update of the key was made meanwhile
    };

    boost::asio::io_context& io_;
    std::string name_;
    CacheQueue queue_;
    std::unique_ptr<CacheWorker> worker_;
    // Event-loop thread only.
    std::unordered_map<std::uint64_t, PendingLookup> lookups_;
    std::unordered_map<std::string, KeyLookedUp> keys_looked_up_;
    RecentRecords recent_{kRecentRecords};
    std::unordered_map<std::uint64_t, std::function<void()>> flushes_;
    std::uint64_t next_id_ = 1;
    bool wake_posted_ = false;
    bool closed_ = false;
    RateLimit lookup_full_, update_full_;
    // The unusable stand-in (see start_inline()), event-loop thread only.
    std::unique_ptr<Dict> inline_;
    long interval_ = 0;
    long retention_ = 0;
    std::optional<PscEnabledTests> enabled_;
    boost::asio::steady_timer walk_timer_{io_};
    RateLimit lookup_error_, update_error_;
};

namespace {

// Stock opens the cache with the effective ids of mail_owner, so that the
// file it creates belongs to mail_owner. Only root can switch.
class AsMailOwner {
public:
    AsMailOwner(uid_t uid, gid_t gid) {
        if (::geteuid() != 0) return;
        saved_uid_ = ::geteuid();
        saved_gid_ = ::getegid();
        if (::setegid(gid) < 0 || ::seteuid(uid) < 0)
            throw ConfigError(std::string("set_eugid: ") + std::strerror(errno));
        switched_ = true;
    }
    ~AsMailOwner() {
        if (!switched_) return;
        if (::seteuid(saved_uid_) < 0 || ::setegid(saved_gid_) < 0)
            msg_fatal("restore privileges: %s", std::strerror(errno));
    }
    AsMailOwner(const AsMailOwner&) = delete;
    AsMailOwner& operator=(const AsMailOwner&) = delete;

private:
    bool switched_ = false;
    uid_t saved_uid_ = 0;
    gid_t saved_gid_ = 0;
};

} // namespace

std::unique_ptr<CacheStore> CacheStore::open(boost::asio::io_context& io, const Config& config) {
    const std::string map = config.get_str("postscreen_cache_map");
    if (map.empty()) return nullptr;
    const long interval = config.get_time("postscreen_cache_cleanup_interval");
    const long retention = config.get_time("postscreen_cache_retention_time");

    CacheMapLocation where;
    where.mail_owner = config.get_str("mail_owner");
    where.data_directory = config.get_str("data_directory");
    where.default_type = config.get_str("default_database_type");
    struct passwd* pw = ::getpwnam(where.mail_owner.c_str());
    if (pw == nullptr)
        throw ConfigError("file " + config.config_directory() +
                          "/main.cf: parameter mail_owner: unknown user name value: " + where.mail_owner);
    where.owner_uid = pw->pw_uid;
    const gid_t owner_gid = pw->pw_gid;

    std::unique_ptr<Dict> dict;
    std::string name;
    {
        AsMailOwner as_owner(where.owner_uid, owner_gid);
        std::vector<std::string> warnings;
        name = redirect_cache_map(map, where, warnings);
        for (const auto& w : warnings)
            msg_warn("%s", w.c_str());
        DictOpenOptions options;
        options.writable = true;
        options.lock = true;
        options.crash_safe = true;
        options.duplicates = DictDuplicates::replace;
        options.fold_case = false; // stock's cache keys are exact
        options.file_mode = 0600;
        options.allow_surrogate = true;
        dict = dict_open(name, options);
    }
    auto impl = std::make_shared<Impl>(io, name);
    if (dict->supports_sequence())
        impl->start(std::move(dict), interval, retention);
    else
        impl->start_inline(std::move(dict), interval, retention);
    return std::make_unique<CacheStore>(Private{}, std::move(impl));
}

CacheStore::CacheStore(Private, std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

CacheStore::~CacheStore() {
    close();
}

const std::string& CacheStore::name() const {
    return impl_->name();
}

void CacheStore::lookup(const std::string& client_addr, LookupHandler done) {
    impl_->lookup(client_addr, std::move(done));
}

void CacheStore::update(const std::string& client_addr, const CacheRecord& record, const PscEnabledTests& enabled) {
    CacheRecord copy = record;
    impl_->update(client_addr, copy.encode_for_store(enabled));
}

void CacheStore::start_cleanup(const PscEnabledTests& enabled) {
    impl_->start_cleanup(enabled);
}

void CacheStore::flush(std::function<void()> done) {
    impl_->flush(std::move(done));
}

void CacheStore::close() {
    impl_->close();
}

} // namespace psm::postscreen
