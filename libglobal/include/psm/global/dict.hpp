// Lookup tables behind one interface, opened by "type:name" as in main.cf
// (cidr:, texthash:, inline:{...}, static:, regexp:, btree:, hash:, and
// later memcache:). Semantics follow Postfix's dict(3): a lookup either
// finds a value, finds nothing, or fails (a table that is unusable, a file
// that can't be read); callers treat the three differently.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace psm {

enum class DictStatus { found, not_found, error };

struct DictLookup {
    DictStatus status = DictStatus::not_found;
    std::string value; // meaningful only when status == found

    bool found() const { return status == DictStatus::found; }
    bool failed() const { return status == DictStatus::error; }
};

enum class DictDuplicates {
    warn_keep_first, // postmap's behaviour: warn, keep the first value
    replace,         // later entries win (postscreen's cache: DUP_REPLACE)
    unusable,        // a daemon opening a texthash with duplicates: the table is
                     // unusable ("error: FILE, line N: duplicate entry: ..."
                     // at open, then every lookup fails), whatever allow_surrogate says
};

struct DictOpenOptions {
    bool writable = false; // open read-write, create if missing (O_RDWR|O_CREAT)
    // DICT_FLAG_FOLD_FIX: tables with exact keys (texthash, inline, btree,
    // hash) lower-case keys when storing and looking up; pattern tables
    // (regexp, cidr) and static: are not affected.
    bool fold_case = true;
    // btree/hash: hold an exclusive non-blocking flock for the table's life
    // (busy: ConfigError "TYPE:NAME: unable to get exclusive lock: ...", even
    // with allow_surrogate, as stock dies). Without it, each access takes a
    // shared (read) or exclusive (write) flock for its duration, as stock
    // daemons do, so a postmap rebuild is never seen half-written.
    bool lock = false;
    bool sync_update = false; // btree/hash: flush to disk after every update/delete
    // btree/hash, writable, with lock: make an interrupted write harmless
    // (postscreen's cache). The file stays a plain Berkeley DB file as stock
    // writes it; Berkeley DB's writes to it are held in memory until flush()
    // (or sync_update, or close), which first puts the old and new pages in
    // NAME.db.journal, then updates the file. Opening completes or discards
    // what a killed process left there (see libglobal/src/db_journal.hpp).
    bool crash_safe = false;
    DictDuplicates duplicates = DictDuplicates::warn_keep_first;
    unsigned file_mode = 0600; // mode of a file created by a writable open (the umask applies too)
    // What an open-time failure does (a missing file, bad inline syntax, a
    // read-write open of a read-only type). false: dict_open throws
    // ConfigError(REASON), as postmap dies with "fatal: REASON". true: as a
    // stock daemon (dict_allow_surrogate): logs "error: REASON" and returns an
    // unusable table whose every access logs "warning: TYPE:NAME is
    // unavailable. REASON" and fails (an unknown type too, as in stock). A
    // malformed "type:name" always throws.
    bool allow_surrogate = false;
    // smtputf8_enable = yes in effect (DICT_FLAG_UTF8_ACTIVE): keys are
    // case-folded as UTF-8, a non-UTF-8 key is never found (warning
    // "TYPE:NAME: non-UTF-8 key ..."), a non-UTF-8 result is a lookup error,
    // and texthash source lines that are not UTF-8 are skipped.
    bool utf8 = false;
};

class Dict {
public:
    explicit Dict(std::string type_and_name) : name_(std::move(type_and_name)) {}
    virtual ~Dict() = default;
    Dict(const Dict&) = delete;
    Dict& operator=(const Dict&) = delete;

    // "type:name" exactly as opened (used in log lines).
    const std::string& name() const { return name_; }

    virtual DictLookup lookup(std::string_view key) = 0;

    // Writable tables only; the defaults report an error (and log nothing).
    // update: found = stored; not_found = not stored because the key exists
    // and the duplicates policy keeps the first value (a warning is logged);
    // error = failed. remove: found = removed, not_found = no such key.
    // Keys are C strings as in Postfix: text after a NUL byte is ignored.
    virtual DictStatus update(std::string_view key, std::string_view value);
    virtual DictStatus remove(std::string_view key);

    // Walks all entries: first=true (re)starts the walk. Returns found with
    // key/value filled, not_found at the end, or error. Removing the entry
    // just returned does not disturb the walk (postscreen's cache cleanup).
    virtual DictStatus sequence(bool first, std::string& key, std::string& value);
    virtual bool supports_sequence() const { return false; }

    // Writable btree/hash tables: puts every update/remove so far on disk
    // (one sync). false (errno set) on failure. Others: nothing to do.
    virtual bool flush() { return true; }

    // True when the table's file changed since it was opened, as stock's
    // dict_changed_name() sees it: only tables that keep their file open
    // (btree:, hash:) can tell; a new mtime or a removed/replaced file
    // (link count 0) counts. In-memory tables (texthash:, regexp:, cidr:,
    // inline:, static:) return false, as in stock Postfix.
    virtual bool file_changed() const { return false; }

private:
    std::string name_;
};

// Opens "type:name". Throws ConfigError for a malformed "type:name"
// ("open dictionary: expecting \"type:name\" form instead of \"...\""),
// and, unless options.allow_surrogate, for an unknown type, a missing
// required file, or another open-time failure, with stock's wording.
// Warnings about bad lines in a source file are logged (and those lines
// skipped) as stock does.
std::unique_ptr<Dict> dict_open(std::string_view type_and_name, const DictOpenOptions& options = {});

// Table types register here (built-in types register themselves).
using DictFactory = std::function<std::unique_ptr<Dict>(std::string_view type_and_name, std::string_view name,
                                                        const DictOpenOptions& options)>;
void dict_register(std::string_view type, DictFactory factory);

} // namespace psm
