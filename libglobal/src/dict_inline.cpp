// inline:{ key=value, { key = value with blanks }, ... } (Postfix's
// dict_inline): items separated by commas or blanks; a braced item may hold
// blanks; the key ends at the first blank or '=' outside double quotes; a
// later key replaces an earlier one. Syntax errors and an empty table make
// the open fail with stock's wording.
#include "dict_keys.hpp"
#include "dict_memory.hpp"
#include "dict_surrogate.hpp"
#include "dict_types.hpp"
#include "psm/util/text.hpp"

#include <memory>
#include <optional>
#include <string>

namespace psm::dict_types {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_space(std::string_view text) {
    while (!text.empty() && is_space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_space(text.back()))
        text.remove_suffix(1);
    return text;
}

// Length of the balanced "{...}" at the start of text, 0 if none.
std::size_t balanced_length(std::string_view text) {
    if (text.empty() || text.front() != '{') return 0;
    int level = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{')
            ++level;
        else if (text[i] == '}' && --level == 0)
            return i + 1;
    }
    return 0;
}

// split_qnameval(): "key = value" with an optionally quoted key. Returns an
// error text, or nullopt on success.
std::optional<std::string> split_name_value(std::string_view item, std::string_view& key, std::string_view& value) {
    std::size_t i = 0;
    while (i < item.size() && is_space(item[i]))
        ++i;
    if (i == item.size()) return std::string("no key found; expected format: key = value");
    std::size_t start = i;
    bool in_quotes = false;
    for (; i < item.size(); ++i) {
        char c = item[i];
        if (c == '\\') {
            if (++i == item.size()) break;
        } else if (is_space(c) || c == '=') {
            if (!in_quotes) break;
        } else if (c == '"') {
            in_quotes = !in_quotes;
        }
    }
    if (in_quotes) return std::string("unbalanced '\"'");
    std::size_t end = std::min(i, item.size());
    std::size_t eq = end;
    while (eq < item.size() && is_space(item[eq]))
        ++eq;
    if (eq == item.size() || item[eq] != '=') return std::string("missing '=' after attribute name");
    key = item.substr(start, end - start);
    value = trim_space(item.substr(eq + 1));
    return std::nullopt;
}

} // namespace

std::unique_ptr<Dict> make_inline(std::string_view type_and_name, std::string_view name,
                                  const DictOpenOptions& options) {
    const std::string spec(type_and_name);
    auto fail = [&](const std::string& what) {
        return open_failure(type_and_name, options, what + ": \"" + spec + "\"; need \"inline:{name=value...}\"");
    };
    if (options.writable) return open_failure(type_and_name, options, spec + " map requires O_RDONLY access mode");
    if (options.utf8 && !dict_keys::valid_utf8(name)) return fail("bad UTF-8 syntax");
    std::size_t len = balanced_length(name);
    if (len == 0 || len != name.size() || len == 2) return fail("bad syntax");

    auto table = std::make_unique<MemoryDict>(type_and_name, options);
    for (const auto& token : split_tokens_braced(name.substr(1, len - 2), ", \t\r\n")) {
        std::string_view item = token;
        if (item.front() == '{') {
            std::string error;
            auto inside = strip_braces(item, &error);
            if (!inside) return fail(error);
            std::string_view key, value;
            if (auto err = split_name_value(*inside, key, value)) return fail(*err);
            table->put(key, value);
        } else {
            std::string_view key, value;
            if (auto err = split_name_value(item, key, value)) return fail(*err);
            table->put(key, value);
        }
    }
    if (table->size() == 0) return fail("empty table");
    return table;
}

} // namespace psm::dict_types
