// Notices that a lookup table file postscreen opened has changed, so that
// the process can finish in the background and let master start a fresh
// one (stock's dict_changed_name() check before each new connection). As
// in stock, only tables that keep a file open can tell: btree: and hash:
// (the indexed .db file); cidr:, regexp:, texthash: and friends are read
// into memory once and are not watched. A new modification time or a
// replaced or removed file counts as a change.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace psm::postscreen {

class TableWatch {
public:
    // Records every btree:/hash: table named in a parameter value (lists,
    // {braced} items and table results are scanned; other items ignored).
    void add_value(std::string_view value);
    // One "type:name" table.
    void add_table(std::string_view type_and_name);

    // The "type:name" of the first table whose file changed since it was
    // recorded, if any.
    std::optional<std::string> changed() const;

    std::size_t size() const { return tables_.size(); }

private:
    struct Watched {
        std::string name; // "type:name" as configured
        std::string path; // the file (name + ".db")
        bool existed = false;
        dev_t dev = 0;
        ino_t ino = 0;
        std::time_t mtime = 0;
        long mtime_ns = 0;
    };
    std::vector<Watched> tables_;
};

} // namespace psm::postscreen
