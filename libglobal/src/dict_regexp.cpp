// regexp: tables (regexp_table(5), Postfix's dict_regexp) with POSIX
// <regex.h> as stock uses it, so matching is the same: rules
// "/pattern/flags result", "!/pattern/ result", "/p1/!/p2/ result",
// "if /pattern/" ... "endif"; flags i (toggles the default case
// insensitivity), m (REG_NEWLINE), x (toggles REG_EXTENDED); $n, ${n} and
// $(n) in results are replaced by matched substrings, $$ by '$'. The table is
// a file or inline text "{ {rule}, {rule} }". Bad rules are warned about
// with stock's wording and skipped.
#include "dict_file_reader.hpp"
#include "dict_keys.hpp"
#include "dict_surrogate.hpp"
#include "dict_types.hpp"
#include "psm/util/log.hpp"

#include <regex.h>
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace psm::dict_types {

namespace {

bool is_space(char c) {
    return is_postfix_space(c);
}
bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// One compiled POSIX regular expression (RAII over regex_t).
class Regex {
public:
    Regex() = default;
    ~Regex() {
        if (compiled_) ::regfree(&re_);
    }
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Returns 0 or the regcomp() error; *error gets regerror()'s text.
    int compile(const std::string& pattern, int flags, std::string* error) {
        int rc = ::regcomp(&re_, pattern.c_str(), flags);
        if (rc != 0) {
            char buf[256];
            ::regerror(rc, &re_, buf, sizeof(buf));
            *error = buf;
            return rc;
        }
        compiled_ = true;
        return 0;
    }
    const regex_t* get() const { return &re_; }
    std::size_t subexpressions() const { return re_.re_nsub; }

private:
    regex_t re_{};
    bool compiled_ = false;
};

struct Pattern {
    std::string regexp;
    int flags = REG_EXTENDED | REG_ICASE;
    bool match = true; // false for "!/pattern/"
};

// The result text: literal pieces and $number references.
struct Piece {
    std::string literal;
    std::size_t index = 0; // > 0 for a $number reference
};

struct Rule {
    enum class Op { match, if_, endif } op = Op::match;
    int lineno = 0;
    std::unique_ptr<Regex> first; // the pattern (the condition of an if)
    bool first_match = true;
    std::unique_ptr<Regex> second; // "/p1/!/p2/": the second pattern
    bool second_match = true;
    std::vector<Piece> result;
    std::size_t max_sub = 0;                          // largest $number in the result
    std::size_t endif = static_cast<std::size_t>(-1); // if_: index of its endif
};

class RegexpDict final : public Dict {
public:
    RegexpDict(std::string_view type_and_name, std::string map_name)
        : Dict(std::string(type_and_name)), map_(std::move(map_name)) {}

    void parse(const std::string& text);
    DictLookup lookup(std::string_view key) override;

private:
    std::optional<Rule> parse_line(std::string_view line, int lineno, std::size_t nesting);
    bool get_pattern(std::string_view& p, int lineno, Pattern& pat);
    bool parse_result(std::string_view text, int lineno, Rule& rule);
    std::unique_ptr<Regex> compile(const Pattern& pat, int extra_flags, int lineno);
    // Runs one regexp: true when the rule's (possibly negated) condition holds.
    bool test(const Regex& re, bool match, int lineno, const char* key, std::size_t nmatch, regmatch_t* pmatch);

    template <typename... Args> void warn(int lineno, const char* fmt, Args... args) {
        std::string f = "regexp map %s, line %d: ";
        f += fmt;
        msg_warn(f.c_str(), map_.c_str(), lineno, args...);
    }

    std::string map_; // the path or the inline text, as stock names it in warnings
    std::vector<Rule> rules_;
    std::size_t max_sub_ = 0;
    std::vector<regmatch_t> pmatch_; // room for $0..$max_sub_
};

bool RegexpDict::get_pattern(std::string_view& p, int lineno, Pattern& pat) {
    pat.match = true;
    while (!p.empty() && (p.front() == '!' || is_space(p.front()))) {
        if (p.front() == '!') pat.match = !pat.match;
        p.remove_prefix(1);
    }
    if (p.empty()) {
        warn(lineno, "no regexp: skipping this rule");
        return false;
    }
    char delim = p.front();
    p.remove_prefix(1);
    std::size_t i = 0;
    for (; i < p.size(); ++i) {
        if (p[i] == '\\') {
            // A backslash at the very end ends the pattern, as in stock.
            if (i + 1 == p.size()) break;
            ++i;
        } else if (p[i] == delim) {
            break;
        }
    }
    if (i >= p.size()) {
        warn(lineno, "no closing regexp delimiter \"%c\": skipping this rule", delim);
        return false;
    }
    pat.regexp = std::string(p.substr(0, i));
    p.remove_prefix(i + 1);
    pat.flags = REG_EXTENDED | REG_ICASE;
    while (!p.empty() && !is_space(p.front()) && p.front() != '!') {
        switch (p.front()) {
        case 'i':
            pat.flags ^= REG_ICASE;
            break;
        case 'm':
            pat.flags ^= REG_NEWLINE;
            break;
        case 'x':
            pat.flags ^= REG_EXTENDED;
            break;
        default:
            warn(lineno, "unknown regexp option \"%c\": skipping this rule", p.front());
            return false;
        }
        p.remove_prefix(1);
    }
    return true;
}

// mac_parse() over the result text, checking each $name as a substring
// index. Warnings and the order in which they appear follow stock.
bool RegexpDict::parse_result(std::string_view text, int lineno, Rule& rule) {
    bool ok = true;
    std::string buf;
    auto flush_literal = [&] {
        if (buf.empty()) return;
        Piece piece;
        piece.literal = std::move(buf);
        rule.result.push_back(std::move(piece));
        buf.clear();
    };
    const std::string whole(text);
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '$') {
            buf += text[i++];
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '$') {
            buf += '$';
            i += 2;
            continue;
        }
        flush_literal();
        ++i;
        std::string name;
        if (i < text.size() && (text[i] == '{' || text[i] == '(')) {
            char open = text[i], close = open == '{' ? '}' : ')';
            std::size_t start = ++i;
            int level = 1;
            while (level > 0) {
                if (i >= text.size()) {
                    msg_warn("truncated macro reference: \"%s\"", whole.c_str());
                    return false;
                }
                if (text[i] == open) ++level;
                if (text[i] == close) --level;
                ++i;
            }
            name = std::string(text.substr(start, i - 1 - start));
        } else {
            std::size_t start = i;
            while (i < text.size() && (is_alnum(text[i]) || text[i] == '_'))
                ++i;
            name = std::string(text.substr(start, i - start));
        }
        if (name.empty()) {
            msg_warn("empty macro name: \"%s\"", whole.c_str());
            return false;
        }
        bool digits = name.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) {
            warn(lineno, "non-numeric replacement index \"%s\"", name.c_str());
            ok = false;
            continue;
        }
        std::size_t n = 0;
        for (char c : name)
            n = std::min<std::size_t>(n * 10 + static_cast<std::size_t>(c - '0'), 1000000000);
        if (n < 1) {
            warn(lineno, "out-of-range replacement index \"%s\"", name.c_str());
            ok = false;
            continue;
        }
        Piece piece;
        piece.index = n;
        rule.result.push_back(std::move(piece));
        if (n > rule.max_sub) rule.max_sub = n;
    }
    if (ok) flush_literal();
    return ok;
}

std::unique_ptr<Regex> RegexpDict::compile(const Pattern& pat, int extra_flags, int lineno) {
    auto re = std::make_unique<Regex>();
    std::string error;
    if (re->compile(pat.regexp, pat.flags | extra_flags, &error) != 0) {
        warn(lineno, "%s", error.c_str());
        return nullptr;
    }
    return re;
}

std::optional<Rule> RegexpDict::parse_line(std::string_view p, int lineno, std::size_t nesting) {
    Rule rule;
    rule.lineno = lineno;
    if (!is_alnum(p.front())) {
        // "[!]/pattern/flags[!/pattern2/flags] result"
        Pattern first, second;
        bool has_second = false;
        if (!get_pattern(p, lineno, first)) return std::nullopt;
        if (!p.empty() && p.front() == '!') {
            if (!get_pattern(p, lineno, second)) return std::nullopt;
            has_second = true;
        }
        while (!p.empty() && is_space(p.front()))
            p.remove_prefix(1);
        if (p.empty()) warn(lineno, "no replacement text: using empty string");
        if (!parse_result(p, lineno, rule)) {
            warn(lineno, "bad replacement syntax: skipping this rule");
            return std::nullopt;
        }
        if (rule.max_sub > 0 && !first.match) {
            warn(lineno, "$number found in negative match replacement text: skipping this rule");
            return std::nullopt;
        }
        rule.first = compile(first, rule.max_sub == 0 ? REG_NOSUB : 0, lineno);
        if (!rule.first) return std::nullopt;
        if (rule.max_sub > rule.first->subexpressions()) {
            warn(lineno, "out of range replacement index \"%d\": skipping this rule", static_cast<int>(rule.max_sub));
            return std::nullopt;
        }
        rule.first_match = first.match;
        if (has_second) {
            rule.second = compile(second, REG_NOSUB, lineno);
            if (!rule.second) return std::nullopt;
            rule.second_match = second.match;
        }
        return rule;
    }
    if (p.size() >= 2 && ::strncasecmp(p.data(), "IF", 2) == 0 && (p.size() == 2 || !is_alnum(p[2]))) {
        p.remove_prefix(2);
        while (!p.empty() && is_space(p.front()))
            p.remove_prefix(1);
        Pattern cond;
        if (!get_pattern(p, lineno, cond)) return std::nullopt;
        while (!p.empty() && is_space(p.front()))
            p.remove_prefix(1);
        if (!p.empty()) {
            std::string extra(p);
            warn(lineno, "ignoring extra text after IF statement: \"%s\"", extra.c_str());
            warn(lineno, "do not prepend whitespace to statements between IF and ENDIF");
        }
        rule.op = Rule::Op::if_;
        rule.first = compile(cond, 0, lineno);
        if (!rule.first) return std::nullopt;
        rule.first_match = cond.match;
        return rule;
    }
    if (p.size() >= 5 && ::strncasecmp(p.data(), "ENDIF", 5) == 0 && (p.size() == 5 || !is_alnum(p[5]))) {
        if (nesting == 0) {
            warn(lineno, "ignoring ENDIF without matching IF");
            return std::nullopt;
        }
        p.remove_prefix(5);
        while (!p.empty() && is_space(p.front()))
            p.remove_prefix(1);
        if (!p.empty()) warn(lineno, "ignoring extra text after ENDIF");
        rule.op = Rule::Op::endif;
        return rule;
    }
    warn(lineno, "ignoring unrecognized request");
    return std::nullopt;
}

void RegexpDict::parse(const std::string& text) {
    LogicalLineReader reader(text, map_);
    std::vector<std::size_t> open_ifs; // indexes of if rules awaiting endif
    while (auto line = reader.next()) {
        std::string_view p = dict_file::trim_trailing_space(line->text);
        if (p.empty()) continue;
        auto rule = parse_line(p, line->first_line, open_ifs.size());
        if (!rule) continue;
        if (rule->op == Rule::Op::match && rule->max_sub > max_sub_) max_sub_ = rule->max_sub;
        if (rule->op == Rule::Op::if_) open_ifs.push_back(rules_.size());
        if (rule->op == Rule::Op::endif) {
            rules_[open_ifs.back()].endif = rules_.size();
            open_ifs.pop_back();
        }
        rules_.push_back(std::move(*rule));
    }
    while (!open_ifs.empty()) {
        warn(rules_[open_ifs.back()].lineno, "IF has no matching ENDIF");
        open_ifs.pop_back();
    }
    pmatch_.resize(max_sub_ + 1);
}

bool RegexpDict::test(const Regex& re, bool match, int lineno, const char* key, std::size_t nmatch,
                      regmatch_t* pmatch) {
    int rc = ::regexec(re.get(), key, nmatch, pmatch, 0);
    if (rc == REG_NOMATCH) return !match;
    if (rc == 0) return match;
    char buf[256];
    ::regerror(rc, re.get(), buf, sizeof(buf));
    warn(lineno, "%s", buf);
    return false;
}

DictLookup RegexpDict::lookup(std::string_view key_view) {
    DictLookup result;
    const std::string key(dict_keys::c_string(key_view));
    std::vector<regmatch_t>& pmatch = pmatch_;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const Rule& rule = rules_[i];
        switch (rule.op) {
        case Rule::Op::match: {
            std::size_t nmatch = rule.max_sub > 0 ? rule.max_sub + 1 : 0;
            if (!test(*rule.first, rule.first_match, rule.lineno, key.c_str(), nmatch, pmatch.data())) continue;
            if (rule.second && !test(*rule.second, rule.second_match, rule.lineno, key.c_str(), 0, nullptr)) continue;
            result.status = DictStatus::found;
            for (const Piece& piece : rule.result) {
                if (piece.index == 0) {
                    result.value += piece.literal;
                    continue;
                }
                const regmatch_t& m = pmatch[piece.index];
                if (m.rm_so < 0 || m.rm_so == m.rm_eo) continue; // unmatched or empty
                result.value.append(key, static_cast<std::size_t>(m.rm_so),
                                    static_cast<std::size_t>(m.rm_eo - m.rm_so));
            }
            return result;
        }
        case Rule::Op::if_:
            if (test(*rule.first, rule.first_match, rule.lineno, key.c_str(), 0, nullptr)) continue;
            if (rule.endif == static_cast<std::size_t>(-1)) return result; // no endif: nothing more to try
            i = rule.endif;
            continue;
        case Rule::Op::endif:
            continue;
        }
    }
    return result;
}

} // namespace

std::unique_ptr<Dict> make_regexp(std::string_view type_and_name, std::string_view name,
                                  const DictOpenOptions& options) {
    const std::string map_name(name);
    if (options.writable)
        return open_failure(type_and_name, options, "regexp:" + map_name + " map requires O_RDONLY access mode");
    std::string why;
    std::optional<dict_file::TableSource> source;
    if (!map_name.empty() && map_name.front() == '{') {
        source = dict_file::read_table_source("regexp", map_name, &why);
    } else {
        // Stock reports only an open error; a file that opens but can't be
        // read (a directory) silently gives an empty table.
        int err = 0;
        std::string what;
        source = dict_file::read_table_file(map_name, err, what);
        if (!source && what != "open") source.emplace();
        if (!source) why = "open " + map_name + ": " + std::strerror(err);
    }
    if (!source) return open_failure(type_and_name, options, why);
    auto table = std::make_unique<RegexpDict>(type_and_name, map_name);
    table->parse(source->text);
    return table;
}

} // namespace psm::dict_types
