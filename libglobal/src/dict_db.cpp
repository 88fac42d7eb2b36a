// btree: and hash: tables in Berkeley DB files NAME.db, through the C++ API
// (db_cxx.h), opened the way Postfix's dict_db opens them so that files are
// interchangeable with stock postmap/postscreen: a private in-memory
// environment rooted at the file's directory, no transactions, 4096 hash
// elements, keys and values stored with one trailing NUL. Reads accept both
// the NUL and the no-NUL style and stick with the first that matches.
// DictOpenOptions::crash_safe adds the page journal of db_journal.hpp.
#include "db_journal.hpp"
#include "dict_keys.hpp"
#include "dict_surrogate.hpp"
#include "dict_types.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/unique_fd.hpp"

#include <db_cxx.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>

namespace psm::dict_types {

namespace {

// Stock's per-table I/O buffer for lookups (berkeley_db_read_buffer_size).
constexpr u_int32_t kCacheBytes = 128 * 1024;
// Stock's hash table size hint (DICT_DB_NELM).
constexpr u_int32_t kHashElements = 4096;

std::string dir_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    auto end = path.find_last_not_of('/', slash);
    return end == std::string::npos ? "/" : path.substr(0, end + 1);
}

std::string base_name(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Stock lets Berkeley DB print its own diagnostics to stderr, which a daemon
// never shows; keep them for -v.
void db_error_callback(const DbEnv*, const char*, const char* message) {
    if (msg_verbose) msg_info("Berkeley DB: %s", message);
}

// A DBT pointing at caller-owned bytes.
Dbt make_dbt(const std::string& bytes, bool with_nul) {
    Dbt dbt(const_cast<char*>(bytes.data()), static_cast<u_int32_t>(bytes.size() + (with_nul ? 1 : 0)));
    return dbt;
}

// What C code sees of a record: the bytes before the first NUL.
std::string record_text(const Dbt& dbt) {
    const char* data = static_cast<const char*>(dbt.get_data());
    std::size_t size = dbt.get_size();
    if (data == nullptr) return {};
    const void* nul = std::memchr(data, '\0', size);
    return std::string(data, nul ? static_cast<const char*>(nul) - data : size);
}

// Closes a cursor when it goes away.
struct CursorCloser {
    void operator()(Dbc* cursor) const { cursor->close(); }
};

class DbDict final : public Dict {
public:
    DbDict(std::string_view type_and_name, std::string db_path, const DictOpenOptions& options)
        : Dict(std::string(type_and_name)), db_path_(std::move(db_path)), options_(options),
          env_(DB_CXX_NO_EXCEPTIONS) {}

    ~DbDict() override;

    // Opens the file; returns an empty string or the failure reason.
    std::string open(DBTYPE type);
    // crash_safe, before open(): creates a missing file, takes the
    // persistent lock (lock_busy and errno when it is held elsewhere) and
    // recovers the journal. An empty string or the failure reason.
    std::string prepare_crash_safe(DBTYPE type, bool& lock_busy);
    // crash_safe, after open(): starts capturing writes.
    std::string start_journal();
    // The persistent exclusive lock (DictOpenOptions::lock); false with errno set.
    bool lock_exclusive();
    void warn_if_older_than(const std::string& source_path);

    DictLookup lookup(std::string_view key) override;
    DictStatus update(std::string_view key, std::string_view value) override;
    DictStatus remove(std::string_view key) override;
    DictStatus sequence(bool first, std::string& key, std::string& value) override;
    bool supports_sequence() const override { return true; }
    bool file_changed() const override;
    bool flush() override;

private:
    // Per-access flock (shared for reads, exclusive for writes) when the
    // table doesn't hold the persistent lock, so a reader never sees a file
    // that postmap is rebuilding under its exclusive lock.
    class AccessLock {
    public:
        AccessLock(const DbDict& dict, int op) : fd_(dict.access_locking() ? dict.fd_ : -1) {
            if (fd_ >= 0)
                while (::flock(fd_, op) < 0 && errno == EINTR) {
                }
        }
        ~AccessLock() {
            if (fd_ >= 0) ::flock(fd_, LOCK_UN);
        }
        AccessLock(const AccessLock&) = delete;
        AccessLock& operator=(const AccessLock&) = delete;

    private:
        int fd_;
    };

    bool access_locking() const { return !options_.lock && fd_ >= 0; }
    std::string fold(std::string_view key) const {
        key = dict_keys::c_string(key);
        return options_.fold_case ? dict_keys::fold(key, options_.utf8) : std::string(key);
    }
    DictStatus after_write();
    void io_error(const char* what, int rc) const {
        msg_error("%s %s: %s", what, db_path_.c_str(), DbEnv::strerror(rc));
    }

    std::string db_path_;
    DictOpenOptions options_;
    DbEnv env_;
    bool env_open_ = false;
    std::unique_ptr<Db> db_;
    std::unique_ptr<Dbc, CursorCloser> cursor_;
    int fd_ = -1;
    time_t mtime_ = 0;
    bool try_nul_ = true;                // records may carry a trailing NUL
    bool try_plain_ = true;              // records may lack it
    UniqueFd lock_fd_;                   // crash_safe: holds the persistent lock
    std::unique_ptr<DbJournal> journal_; // crash_safe
};

DbDict::~DbDict() {
    cursor_.reset();
    bool flushed = true;
    if (db_) {
        int rc = db_->sync(0);
        if (rc != 0) msg_error("flush database %s: %s", db_path_.c_str(), DbEnv::strerror(rc));
        if (journal_ && !journal_->commit()) {
            flushed = false;
            msg_error("flush database %s: %s", db_path_.c_str(), std::strerror(errno));
        }
        // With a journal, anything written from here on is dropped: after a
        // failed commit the next open recovers from the journal instead.
        rc = db_->close(0);
        if (rc != 0)
            msg_info("close database %s: %s (possible Berkeley DB bug)", db_path_.c_str(), DbEnv::strerror(rc));
        db_.reset();
    }
    if (journal_) {
        journal_->detach();
        if (flushed) journal_->remove_file();
    }
    if (env_open_) env_.close(0);
}

std::string DbDict::prepare_crash_safe(DBTYPE type, bool& lock_busy) {
    lock_busy = false;
    lock_fd_.reset(::open(db_path_.c_str(), O_RDWR | O_CLOEXEC));
    if (!lock_fd_ && errno == ENOENT) {
        // Berkeley DB creates a file under a temporary name and renames it
        // when complete; a throw-away handle does that, then ours opens it.
        DbEnv env(DB_CXX_NO_EXCEPTIONS);
        env.set_errcall(db_error_callback);
        int rc = env.open(dir_name(db_path_).c_str(), DB_INIT_MPOOL | DB_CREATE | DB_PRIVATE, 0);
        if (rc != 0) return std::string("open DB environment: ") + DbEnv::strerror(rc);
        {
            Db db(&env, DB_CXX_NO_EXCEPTIONS);
            if (type == DB_HASH) db.set_h_nelem(kHashElements);
            rc = db.open(nullptr, base_name(db_path_).c_str(), nullptr, type, DB_CREATE,
                         static_cast<int>(options_.file_mode));
            db.close(0);
        }
        env.close(0);
        if (rc != 0) return "open database " + db_path_ + ": " + DbEnv::strerror(rc);
        lock_fd_.reset(::open(db_path_.c_str(), O_RDWR | O_CLOEXEC));
    }
    if (!lock_fd_) return "open database " + db_path_ + ": " + std::strerror(errno);
    if (::flock(lock_fd_.get(), LOCK_EX | LOCK_NB) < 0) {
        lock_busy = true;
        return {};
    }
    auto recovery = DbJournal::recover(db_path_, lock_fd_.get());
    const std::string journal = DbJournal::journal_path(db_path_);
    switch (recovery.outcome) {
    case DbJournal::Recovery::Outcome::none:
        break;
    case DbJournal::Recovery::Outcome::incomplete:
        msg_info("%s: discarded %s of an update that was interrupted before it was complete", db_path_.c_str(),
                 journal.c_str());
        break;
    case DbJournal::Recovery::Outcome::replayed:
        msg_warn("%s: completed an interrupted update from %s (%zu pages)", db_path_.c_str(), journal.c_str(),
                 recovery.blocks);
        break;
    case DbJournal::Recovery::Outcome::mismatch:
        msg_warn("%s: discarded %s: the file was changed by another program since", db_path_.c_str(), journal.c_str());
        break;
    case DbJournal::Recovery::Outcome::failed:
        return "recover database " + db_path_ + ": " + recovery.error;
    }
    return {};
}

std::string DbDict::start_journal() {
    journal_ = std::make_unique<DbJournal>(db_path_);
    if (std::string why = journal_->open(options_.file_mode); !why.empty()) return why;
    u_int32_t page_size = 0;
    int rc = db_->get_pagesize(&page_size);
    if (rc != 0 || page_size == 0) return "get database page size: " + std::string(DbEnv::strerror(rc));
    journal_->attach(fd_, page_size);
    return {};
}

bool DbDict::flush() {
    if (!db_ || !options_.writable) return true;
    int rc = db_->sync(0);
    if (rc != 0) {
        errno = rc;
        return false;
    }
    return !journal_ || journal_->commit();
}

std::string DbDict::open(DBTYPE type) {
    env_.set_errcall(db_error_callback);
    u_int32_t gbytes = 0, bytes = 0;
    int ncache = 0;
    if (env_.get_cachesize(&gbytes, &bytes, &ncache) == 0 && gbytes == 0 && bytes < kCacheBytes) {
        env_.set_cache_max(0, kCacheBytes);
        env_.set_cachesize(0, kCacheBytes, ncache);
    }
    const std::string home = dir_name(db_path_);
    int rc = env_.open(home.c_str(), DB_INIT_MPOOL | DB_CREATE | DB_PRIVATE, 0);
    if (rc != 0) return std::string("open DB environment: ") + DbEnv::strerror(rc);
    env_open_ = true;

    db_ = std::make_unique<Db>(&env_, DB_CXX_NO_EXCEPTIONS);
    if (type == DB_HASH && (rc = db_->set_h_nelem(kHashElements)) != 0)
        return "set DB hash element count: " + std::string(DbEnv::strerror(rc));
    u_int32_t flags = options_.writable ? DB_CREATE : DB_RDONLY;
    const std::string file = base_name(db_path_);
    {
        // Like stock, wait until a postmap rebuild (exclusive lock) is over
        // before reading the file's metadata; the lock goes with this fd.
        UniqueFd guard(options_.lock ? -1 : ::open(db_path_.c_str(), O_RDONLY | O_CLOEXEC));
        if (guard.get() >= 0)
            while (::flock(guard.get(), LOCK_SH) < 0 && errno == EINTR) {
            }
        rc = db_->open(nullptr, file.c_str(), nullptr, type, flags, static_cast<int>(options_.file_mode));
    }
    if (rc != 0) {
        db_.reset(); // a Db that failed to open is closed by its destructor
        return "open database " + db_path_ + ": " + DbEnv::strerror(rc);
    }
    if ((rc = db_->fd(&fd_)) != 0) return "get database file descriptor: " + std::string(DbEnv::strerror(rc));
    ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
    struct stat st;
    if (::fstat(fd_, &st) == 0) mtime_ = st.st_mtime;
    return {};
}

bool DbDict::lock_exclusive() {
    if (lock_fd_) return true; // crash_safe: taken before the open
    return ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

void DbDict::warn_if_older_than(const std::string& source_path) {
    struct stat st;
    if (::stat(source_path.c_str(), &st) == 0 && st.st_mtime > mtime_ && st.st_mtime < std::time(nullptr) - 100)
        msg_warn("database %s is older than source file %s", db_path_.c_str(), source_path.c_str());
}

DictLookup DbDict::lookup(std::string_view key_view) {
    DictLookup result;
    const std::string key = fold(key_view);
    AccessLock lock(*this, LOCK_SH);
    for (bool with_nul : {true, false}) {
        if (with_nul ? !try_nul_ : !try_plain_) continue;
        Dbt k = make_dbt(key, with_nul);
        Dbt v;
        int rc = db_->get(nullptr, &k, &v, 0);
        if (rc == 0) {
            (with_nul ? try_plain_ : try_nul_) = false;
            result.status = DictStatus::found;
            result.value = record_text(v);
            return result;
        }
        if (rc != DB_NOTFOUND) {
            io_error("error reading", rc == DB_KEYEMPTY ? EINVAL : rc);
            result.status = DictStatus::error;
            return result;
        }
    }
    return result;
}

DictStatus DbDict::after_write() {
    if (options_.sync_update && !flush()) {
        msg_error("%s: flush dictionary: %s", db_path_.c_str(), DbEnv::strerror(errno));
        return DictStatus::error;
    }
    return DictStatus::found;
}

DictStatus DbDict::update(std::string_view key_view, std::string_view value_view) {
    if (!options_.writable) return DictStatus::error;
    const std::string key = fold(key_view);
    const std::string value(dict_keys::c_string(value_view));
    // A table with no decided style gets the NUL style, as in stock 3.7.
    if (try_nul_ && try_plain_) try_plain_ = false;
    Dbt k = make_dbt(key, try_nul_);
    Dbt v = make_dbt(value, try_nul_);
    AccessLock lock(*this, LOCK_EX);
    bool replace = options_.duplicates == DictDuplicates::replace;
    int rc = db_->put(nullptr, &k, &v, replace ? 0 : DB_NOOVERWRITE);
    if (rc == DB_KEYEXIST) {
        if (options_.duplicates == DictDuplicates::warn_keep_first) {
            msg_warn("%s: duplicate entry: \"%s\"", db_path_.c_str(), key.c_str());
            return DictStatus::not_found;
        }
        msg_error("%s: duplicate entry: \"%s\"", db_path_.c_str(), key.c_str());
        return DictStatus::error;
    }
    if (rc != 0) {
        io_error("error writing", rc);
        return DictStatus::error;
    }
    return after_write();
}

DictStatus DbDict::remove(std::string_view key_view) {
    if (!options_.writable) return DictStatus::error;
    const std::string key = fold(key_view);
    AccessLock lock(*this, LOCK_EX);
    DictStatus status = DictStatus::not_found;
    for (bool with_nul : {true, false}) {
        if (with_nul ? !try_nul_ : !try_plain_) continue;
        Dbt k = make_dbt(key, with_nul);
        int rc = db_->del(nullptr, &k, 0);
        if (rc == 0) {
            (with_nul ? try_plain_ : try_nul_) = false;
            status = DictStatus::found;
            break;
        }
        if (rc != DB_NOTFOUND) {
            io_error("error deleting from", rc == DB_KEYEMPTY ? EINVAL : rc);
            return DictStatus::error;
        }
    }
    if (after_write() == DictStatus::error) return DictStatus::error;
    return status;
}

DictStatus DbDict::sequence(bool first, std::string& key, std::string& value) {
    AccessLock lock(*this, LOCK_SH);
    if (!cursor_) {
        Dbc* cursor = nullptr;
        int rc = db_->cursor(nullptr, &cursor, 0);
        if (rc != 0) {
            io_error("error seeking", rc);
            return DictStatus::error;
        }
        cursor_.reset(cursor);
        first = true;
    }
    Dbt k, v;
    int rc = cursor_->get(&k, &v, first ? DB_FIRST : DB_NEXT);
    if (rc == DB_NOTFOUND) return DictStatus::not_found;
    if (rc != 0) {
        io_error("error seeking", rc);
        return DictStatus::error;
    }
    key = record_text(k);
    value = record_text(v);
    return DictStatus::found;
}

bool DbDict::file_changed() const {
    struct stat st;
    if (::fstat(fd_, &st) < 0) return false;
    if (st.st_nlink == 0) return true;
    // Our own writes move the mtime of a writable table.
    return !options_.writable && st.st_mtime != mtime_;
}

std::unique_ptr<Dict> open_db(std::string_view type_and_name, std::string_view name, const DictOpenOptions& options,
                              DBTYPE type) {
    const std::string path(name);
    auto table = std::make_unique<DbDict>(type_and_name, path + ".db", options);
    auto lock_error = [&] {
        int err = errno;
        return ConfigError(std::string(type_and_name) + ": unable to get exclusive lock: " + std::strerror(err));
    };
    const bool crash_safe = options.crash_safe && options.writable;
    if (crash_safe) {
        if (!options.lock) throw std::logic_error("dict_open: crash_safe needs lock");
        bool busy = false;
        if (std::string why = table->prepare_crash_safe(type, busy); !why.empty())
            return open_failure(type_and_name, options, why);
        if (busy) throw lock_error();
    }
    if (std::string why = table->open(type); !why.empty()) return open_failure(type_and_name, options, why);
    if (crash_safe)
        if (std::string why = table->start_journal(); !why.empty()) return open_failure(type_and_name, options, why);
    if (options.lock && !table->lock_exclusive()) throw lock_error();
    if (!options.writable) table->warn_if_older_than(path);
    return table;
}

} // namespace

std::unique_ptr<Dict> make_btree(std::string_view type_and_name, std::string_view name,
                                 const DictOpenOptions& options) {
    return open_db(type_and_name, name, options, DB_BTREE);
}

std::unique_ptr<Dict> make_hash(std::string_view type_and_name, std::string_view name, const DictOpenOptions& options) {
    return open_db(type_and_name, name, options, DB_HASH);
}

} // namespace psm::dict_types
