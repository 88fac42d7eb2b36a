// TableWatch: stat()-based change detection for btree:/hash: tables.
#include "table_watch.hpp"

#include "psm/util/text.hpp"

#include <sys/stat.h>

namespace psm::postscreen {

namespace {

constexpr int kMaxDepth = 4; // {braced} nesting scanned

void scan(TableWatch& watch, std::string_view value, int depth) {
    if (depth > kMaxDepth) return;
    for (const std::string& item : split_tokens_braced(value)) {
        std::string_view token = item;
        if (token.starts_with('!')) token.remove_prefix(1);
        if (token.starts_with('{')) {
            if (std::optional<std::string> inner = strip_braces(token)) scan(watch, *inner, depth + 1);
            continue;
        }
        if (token.starts_with("btree:") || token.starts_with("hash:")) watch.add_table(token);
    }
}

} // namespace

void TableWatch::add_value(std::string_view value) {
    scan(*this, value, 0);
}

void TableWatch::add_table(std::string_view type_and_name) {
    std::size_t colon = type_and_name.find(':');
    if (colon == std::string_view::npos || colon + 1 >= type_and_name.size()) return;
    for (const Watched& w : tables_)
        if (w.name == type_and_name) return;
    Watched w;
    w.name = std::string(type_and_name);
    w.path = std::string(type_and_name.substr(colon + 1)) + ".db";
    struct stat st;
    if (::stat(w.path.c_str(), &st) == 0) {
        w.existed = true;
        w.dev = st.st_dev;
        w.ino = st.st_ino;
        w.mtime = st.st_mtim.tv_sec;
        w.mtime_ns = st.st_mtim.tv_nsec;
    }
    tables_.push_back(std::move(w));
}

std::optional<std::string> TableWatch::changed() const {
    for (const Watched& w : tables_) {
        struct stat st;
        bool exists = ::stat(w.path.c_str(), &st) == 0;
        if (!w.existed) {
            if (exists) return w.name;
            continue;
        }
        if (!exists || st.st_dev != w.dev || st.st_ino != w.ino || st.st_mtim.tv_sec != w.mtime ||
            st.st_mtim.tv_nsec != w.mtime_ns)
            return w.name;
    }
    return std::nullopt;
}

} // namespace psm::postscreen
