// texthash: a postmap(1) source file read into memory when the table is
// opened (Postfix's dict_thash): "key whitespace value" logical lines, the
// key ending at the first blank outside double quotes (a backslash escapes
// the next character; quotes and backslashes stay in the key), the value
// trimmed. Bad lines are warned about with stock's wording and skipped.
#include "dict_file_reader.hpp"
#include "dict_keys.hpp"
#include "dict_memory.hpp"
#include "dict_surrogate.hpp"
#include "dict_types.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

namespace psm::dict_types {

namespace {

// A file modified this recently may still be being written: stock re-reads
// it until its mtime is more than a second in the past. Bounded here.
constexpr int kMaxHotFileReads = 20;
constexpr auto kHotFilePause = std::chrono::milliseconds(300);

struct KeyValue {
    std::string_view key;
    std::string_view value;
    bool unbalanced_quote = false;
};

// Splits a logical line at the first whitespace outside double quotes.
KeyValue split_key_value(std::string_view line) {
    KeyValue kv;
    bool in_quotes = false;
    std::size_t i = 0;
    for (; i < line.size(); ++i) {
        char c = line[i];
        if (c == '\\') {
            if (++i == line.size()) break;
        } else if (is_postfix_space(c)) {
            if (!in_quotes) break;
        } else if (c == '"') {
            in_quotes = !in_quotes;
        }
    }
    kv.unbalanced_quote = in_quotes;
    kv.key = line.substr(0, std::min(i, line.size()));
    std::string_view rest = i < line.size() ? line.substr(i + 1) : std::string_view();
    while (!rest.empty() && is_postfix_space(rest.front()))
        rest.remove_prefix(1);
    kv.value = dict_file::trim_trailing_space(rest);
    return kv;
}

// Loads one snapshot of the file. Returns the table, or a surrogate when a
// duplicate key makes it unusable (DictDuplicates::unusable).
std::unique_ptr<Dict> load(std::string_view type_and_name, const std::string& path, const std::string& text,
                           const DictOpenOptions& options) {
    auto table = std::make_unique<MemoryDict>(type_and_name, options);
    LogicalLineReader reader(text, path);
    while (auto line = reader.next()) {
        const std::string& buf = line->text;
        const int lineno = line->first_line;
        if (options.utf8 && !dict_keys::valid_utf8(buf)) {
            msg_warn("%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line", path.c_str(), lineno, buf.c_str());
            continue;
        }
        KeyValue kv = split_key_value(buf);
        if (kv.unbalanced_quote) {
            msg_warn("%s, line %d: unbalanced '\"' in '%s' -- ignoring this line", path.c_str(), lineno, buf.c_str());
            continue;
        }
        std::string key(kv.key);
        if (key.empty() || kv.value.empty()) {
            msg_warn("%s, line %d: expected format: key whitespace value -- ignoring this line", path.c_str(), lineno);
            continue;
        }
        if (key.back() == ':')
            msg_warn("%s, line %d: record is in \"key: value\" format; is this an alias file?", path.c_str(), lineno);
        if (!table->contains(key)) {
            table->put(key, kv.value);
            continue;
        }
        switch (options.duplicates) {
        case DictDuplicates::replace:
            table->put(key, kv.value);
            break;
        case DictDuplicates::warn_keep_first:
            msg_warn("%s, line %d: duplicate entry: \"%s\"", path.c_str(), lineno, key.c_str());
            break;
        case DictDuplicates::unusable:
            return make_surrogate(type_and_name,
                                  path + ", line " + std::to_string(lineno) + ": duplicate entry: \"" + key + "\"");
        }
    }
    return table;
}

} // namespace

std::unique_ptr<Dict> make_texthash(std::string_view type_and_name, std::string_view name,
                                    const DictOpenOptions& options) {
    const std::string path(name);
    if (options.writable)
        return open_failure(type_and_name, options, "texthash:" + path + " map requires O_RDONLY access mode");

    std::unique_ptr<Dict> table;
    std::time_t before = std::time(nullptr);
    for (int attempt = 1;; ++attempt) {
        int err = 0;
        std::string what;
        auto source = dict_file::read_table_file(path, err, what);
        if (!source && what == "open")
            return open_failure(type_and_name, options, "open database " + path + ": " + std::strerror(err));
        // A file that opens but can't be read is fatal in stock, daemon or not.
        if (!source) throw ConfigError("read " + path + ": " + std::strerror(err));
        table = load(type_and_name, path, source->text, options);
        std::time_t after = std::time(nullptr);
        std::time_t mtime = source->st.st_mtime;
        if (mtime < before - 1 || mtime > after || attempt >= kMaxHotFileReads) break;
        if (msg_verbose > 1) msg_info("pausing to let file %s cool down", path.c_str());
        std::this_thread::sleep_for(kHotFilePause);
        before = after;
    }
    return table;
}

} // namespace psm::dict_types
