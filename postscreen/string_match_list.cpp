// String match lists (see string_match_list.hpp), after Postfix's
// match_list.c and match_ops.c (match_string).
#include "string_match_list.hpp"

#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace psm::postscreen {

namespace {

constexpr int kMaxFileNesting = 20;

// Postfix's MATCH_DICTIONARY(): "type:name", but not "[...]".
bool is_table(std::string_view item) {
    return !item.empty() && item.front() != '[' && item.find(':') != item.npos;
}

} // namespace

StringMatchList::StringMatchList(std::string pname, std::string_view patterns, const DictOpenOptions& table_options)
    : pname_(std::move(pname)) {
    DictOpenOptions options = table_options;
    options.writable = false;
    parse(patterns, true, options, 0);
}

StringMatchList::~StringMatchList() = default;
StringMatchList::StringMatchList(StringMatchList&&) noexcept = default;
StringMatchList& StringMatchList::operator=(StringMatchList&&) noexcept = default;

void StringMatchList::parse(std::string_view text, bool positive, const DictOpenOptions& options, int depth) {
    size_t cursor = 0;
    for (const std::string& token : split_tokens_braced(text)) {
        size_t at = text.find(token, cursor);
        cursor = at + token.size();
        if (token.front() == '#') {
            std::string rest(text.substr(std::min(text.size(), cursor + 1)));
            msg_warn("%s: comment at end of line is not supported: %s %s", pname_.c_str(), token.c_str(), rest.c_str());
            break;
        }
        bool match = positive;
        size_t bang = 0;
        while (bang < token.size() && token[bang] == '!') {
            match = !match;
            ++bang;
        }
        std::string_view item = std::string_view(token).substr(bang);
        if (item.empty()) throw ConfigError(pname_ + ": no pattern after '!'");
        if (item.front() == '/') {
            std::string path(item);
            std::ifstream in(path);
            if (!in) throw ConfigError("open file " + path + ": " + std::strerror(errno));
            if (depth >= kMaxFileNesting) throw ConfigError(pname_ + ": file " + path + " nested too deeply");
            for (std::string line; std::getline(in, line);)
                if (line.empty() || line.front() != '#') parse(line, match, options, depth + 1);
            continue;
        }
        Item entry;
        entry.positive = match;
        if (is_table(item))
            entry.table = dict_open(item, options);
        else
            entry.pattern = lowercase(item);
        items_.push_back(std::move(entry));
    }
}

StringMatch StringMatchList::match(std::string_view text) const {
    const std::string folded = lowercase(text);
    for (const Item& item : items_) {
        if (item.table) {
            DictLookup result = item.table->lookup(folded);
            if (result.found()) return item.positive ? StringMatch::match : StringMatch::no_match;
            if (result.failed()) {
                msg_warn("%s: %s: table lookup problem", pname_.c_str(), item.table->name().c_str());
                return StringMatch::error;
            }
            continue;
        }
        if (item.pattern == folded) return item.positive ? StringMatch::match : StringMatch::no_match;
    }
    return StringMatch::no_match;
}

} // namespace psm::postscreen
