// Reading Postfix table source text: whole files, inline "{...}" tables and
// logical lines (see dict_file_reader.hpp).
#include "dict_file_reader.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"
#include "psm/util/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace psm::dict_file {

namespace {

// balpar(): length of the balanced "{...}" group at the start of text, or 0.
std::size_t balanced_length(std::string_view text) {
    if (text.empty() || text.front() != '{') return 0;
    int level = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '{') {
            ++level;
        } else if (text[i] == '}' && --level == 0) {
            return i + 1;
        }
    }
    return 0;
}

// extpar(): the inside of "{...}" (optionally stripped of blanks), or an
// error worded as stock words it.
std::optional<std::string_view> extract_braced(std::string_view text, bool strip, std::string& error) {
    if (text.empty() || text.front() != '{') {
        error = "no '{' at start of text in \"" + std::string(text) + "\"";
        return std::nullopt;
    }
    std::size_t len = balanced_length(text);
    if (len == 0) {
        error = "missing '}' in \"" + std::string(text) + "\"";
        return std::nullopt;
    }
    if (len != text.size()) {
        error = "syntax error after '}' in \"" + std::string(text) + "\"";
        return std::nullopt;
    }
    std::string_view inside = text.substr(1, len - 2);
    if (strip) {
        inside = trim_trailing_space(inside);
        while (!inside.empty() && is_postfix_space(inside.front()))
            inside.remove_prefix(1);
    }
    return inside;
}

} // namespace

std::string_view trim_trailing_space(std::string_view text) {
    while (!text.empty() && is_postfix_space(text.back()))
        text.remove_suffix(1);
    return text;
}

std::optional<TableSource> read_table_file(const std::string& path, int& errno_out, std::string& what_failed) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) {
        errno_out = errno;
        what_failed = "open";
        return std::nullopt;
    }
    TableSource source;
    if (::fstat(fd.get(), &source.st) < 0) {
        errno_out = errno;
        what_failed = "fstat";
        return std::nullopt;
    }
    if (S_ISDIR(source.st.st_mode)) {
        errno_out = EISDIR;
        what_failed = "read";
        return std::nullopt;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR) continue;
            errno_out = errno;
            what_failed = "read";
            return std::nullopt;
        }
        if (n == 0) break;
        if (source.text.size() + static_cast<std::size_t>(n) > kMaxTableFileBytes) {
            errno_out = EFBIG;
            what_failed = "read";
            return std::nullopt;
        }
        source.text.append(buf, static_cast<std::size_t>(n));
    }
    return source;
}

std::optional<TableSource> read_table_source(std::string_view type, const std::string& name, std::string* why) {
    if (name.empty() || name.front() != '{') {
        int err = 0;
        std::string what;
        auto source = read_table_file(name, err, what);
        if (!source && why) *why = what + " " + name + ": " + std::strerror(err);
        return source;
    }
    // Inline rules: strip the outer braces, then each "{rule}" item
    // (separated by commas and/or blanks) becomes one line.
    std::string error;
    auto outer = extract_braced(name, false, error);
    TableSource source;
    source.is_inline = true;
    if (outer) {
        for (const auto& item : split_tokens_braced(*outer, ", \t\r\n")) {
            auto rule = extract_braced(item, true, error);
            if (!rule) break;
            source.text.append(*rule);
            source.text.push_back('\n');
        }
    }
    if (!error.empty()) {
        if (why) *why = std::string(type) + " map: " + error;
        return std::nullopt;
    }
    return source;
}

} // namespace psm::dict_file
