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
    unusable,        // a daemon opening a texthash with duplicates: lookups fail
};

struct DictOpenOptions {
    bool writable = false;    // open read-write, create if missing (O_RDWR|O_CREAT)
    bool fold_case = true;    // lower-case lookup keys before searching (DICT_FLAG_FOLD_FIX)
    bool lock = false;        // hold an exclusive non-blocking flock for the table's life
    bool sync_update = false; // flush to disk after every update/delete
    DictDuplicates duplicates = DictDuplicates::warn_keep_first;
    unsigned file_mode = 0600; // mode of a file created by a writable open
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
    virtual DictStatus update(std::string_view key, std::string_view value);
    virtual DictStatus remove(std::string_view key);

    // Walks all entries: first=true (re)starts the walk. Returns found with
    // key/value filled, not_found at the end, or error.
    virtual DictStatus sequence(bool first, std::string& key, std::string& value);
    virtual bool supports_sequence() const { return false; }

    // True when the table's source file changed since it was opened
    // (postscreen drains and restarts when a table changes).
    virtual bool file_changed() const { return false; }

private:
    std::string name_;
};

// Opens "type:name". Throws ConfigError for an unknown type, a missing
// required file, or an open-time failure; warnings about bad lines in a
// source file are logged (and those lines skipped) as stock does.
std::unique_ptr<Dict> dict_open(std::string_view type_and_name, const DictOpenOptions& options = {});

// Table types register here (built-in types register themselves).
using DictFactory = std::function<std::unique_ptr<Dict>(std::string_view type_and_name, std::string_view name,
                                                        const DictOpenOptions& options)>;
void dict_register(std::string_view type, DictFactory factory);

} // namespace psm
