// Postfix's $name expansion language: splitting text into literals and
// $-expressions (mac_parse semantics) and evaluating the expressions
// (mac_expand semantics), with stock's diagnostics word for word.
#include "psm/global/mac_expand.hpp"

#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>

namespace psm {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";
constexpr std::string_view kOperatorChars = "<>!=?+-*/~&|%";

// Stock allows 100 nested expansions per evaluation. Relational operands
// start a fresh evaluation in stock (and could recurse without end); this
// overall bound stops that too.
constexpr int kMaxLevel = 100;
constexpr int kMaxTotalDepth = 400;
// And a bound on the work of one call: values that each name another one
// twice grow exponentially without ever nesting deeply.
constexpr long kMaxEvaluations = 1'000'000;

// What the nested evaluations of one mac_expand() call share.
struct Shared {
    int depth = 0;          // $-expressions being evaluated, across sub-evaluations
    long evaluations = 0;   // $-expressions evaluated so far
};

bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

std::string_view skip_space(std::string_view s) {
    std::size_t n = s.find_first_not_of(kWhitespace);
    return n == std::string_view::npos ? std::string_view{} : s.substr(n);
}

std::string first20(std::string_view s) {
    return std::string(s.substr(0, 20));
}

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

enum class RelOp { eq, ne, lt, le, ge, gt };

struct OpName {
    std::string_view text;
    RelOp op;
};
constexpr std::array<OpName, 6> kOperators{{
    {"==", RelOp::eq},
    {"!=", RelOp::ne},
    {"<", RelOp::lt},
    {"<=", RelOp::le},
    {">=", RelOp::ge},
    {">", RelOp::gt},
}};

// Stock builds this list with odd quoting; reproduced as printed.
constexpr std::string_view kAnyOperator = "\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\"";

bool compare(long delta, RelOp op) {
    switch (op) {
    case RelOp::eq:
        return delta == 0;
    case RelOp::ne:
        return delta != 0;
    case RelOp::lt:
        return delta < 0;
    case RelOp::le:
        return delta <= 0;
    case RelOp::ge:
        return delta >= 0;
    case RelOp::gt:
        return delta > 0;
    }
    return false;
}

class Expander {
public:
    Expander(const MacLookup& lookup, const MacExpandOptions& options, MacExpandResult& result, Shared& shared)
        : lookup_(lookup), options_(options), result_(result), shared_(shared) {}

    // mac_parse(): literals and $-expressions, handed to on_literal /
    // on_expression in order.
    void parse(std::string_view value) {
        std::string literal;
        std::size_t i = 0;
        while (i < value.size()) {
            if (value[i] != '$') {
                literal += value[i++];
                continue;
            }
            if (i + 1 < value.size() && value[i + 1] == '$') { // $$ is a literal $
                literal += '$';
                i += 2;
                continue;
            }
            if (!literal.empty()) {
                on_literal(literal);
                literal.clear();
            }
            ++i;
            std::string expr;
            if (i < value.size() && (value[i] == '{' || value[i] == '(')) {
                const char open = value[i];
                const char close = open == '{' ? '}' : ')';
                int depth = 1;
                std::size_t j = i + 1;
                for (; j < value.size(); ++j) {
                    if (value[j] == open)
                        ++depth;
                    else if (value[j] == close && --depth == 0)
                        break;
                }
                if (depth > 0) {
                    error("truncated macro reference: " + quoted(value));
                    return;
                }
                expr.assign(value.substr(i + 1, j - i - 1));
                i = j + 1;
            } else {
                std::size_t j = i;
                while (j < value.size() && is_name_char(value[j]))
                    ++j;
                expr.assign(value.substr(i, j - i));
                i = j;
            }
            if (expr.empty()) {
                error("empty macro name: " + quoted(value));
                return;
            }
            on_expression(expr);
        }
        if (!literal.empty() && !failed_) on_literal(literal);
    }

private:
    void error(std::string text) {
        result_.errors.push_back(std::move(text));
        failed_ = true;
    }

    // Common entry of both callbacks: the nesting check. Returns false when
    // the evaluation has failed. Like stock, a failed evaluation never
    // lowers the level again.
    bool enter(std::string_view what) {
        if (level_++ > kMaxLevel || shared_.depth > kMaxTotalDepth || shared_.evaluations > kMaxEvaluations)
            error("unreasonable macro call nesting: " + quoted(what));
        return !failed_;
    }
    void leave() { --level_; }

    void on_literal(const std::string& text) {
        if (!enter(text)) return;
        if (!options_.scan) result_.text += text;
        leave();
    }

    // Balanced {payload} starting at text[0] == '{'; advances text past it
    // and the white space after it.
    std::optional<std::string_view> curly_payload(std::string_view& text) {
        int depth = 1;
        for (std::size_t i = 1; i < text.size(); ++i) {
            if (text[i] == '{')
                ++depth;
            else if (text[i] == '}' && --depth == 0) {
                std::string_view payload = text.substr(1, i - 1);
                text = skip_space(text.substr(i + 1));
                return payload;
            }
        }
        error("unbalanced {} in attribute expression: " + quoted(text));
        return std::nullopt;
    }

    static bool at_curly(std::string_view& text) {
        std::string_view rest = skip_space(text);
        if (rest.empty() || rest.front() != '{') return false;
        text = rest;
        return true;
    }

    // A nested evaluation with its own level counter (as stock's
    // mac_expand() call for relational operands).
    std::optional<std::string> sub_expand(std::string_view text) {
        MacExpandResult sub;
        Expander inner(lookup_, options_, sub, shared_);
        inner.parse(text);
        for (auto& e : sub.errors)
            result_.errors.push_back(std::move(e));
        if (sub.undefined) result_.undefined = true;
        if (!sub.errors.empty()) {
            failed_ = true;
            return std::nullopt;
        }
        return std::move(sub.text);
    }

    // {left} OP {right}; on success sets value to "true" or "" (nullopt in
    // scan mode) and advances text past the right operand.
    bool relational(std::string_view& text, std::optional<std::string>& value) {
        std::optional<std::string_view> left = curly_payload(text);
        if (!left) return false;
        const std::size_t op_len = std::min(text.find_first_not_of(kOperatorChars), text.size());
        const std::string_view op_text = text.substr(0, op_len);
        const OpName* op = nullptr;
        for (const auto& candidate : kOperators)
            if (candidate.text == op_text) op = &candidate;
        if (op == nullptr) {
            error(std::string(kAnyOperator) + " expected at: \"..." + std::string(*left) + "}>>>" + first20(text) +
                  "\"");
            return false;
        }
        text.remove_prefix(op_len);
        bool level_compare = false;
        if (!text.empty() && std::isalnum(static_cast<unsigned char>(text.front()))) {
            std::size_t n = 0;
            while (n < text.size() && std::isalnum(static_cast<unsigned char>(text[n])))
                ++n;
            if (text.substr(0, n) != "level") {
                error("bad operator suffix at: \"..." + std::string(op_text) + ">>>" + std::string(text.substr(0, n)) +
                      "\"");
                return false;
            }
            level_compare = true;
            text.remove_prefix(n);
        }
        if (!at_curly(text)) {
            error("\"{expression}\" expected at: \"...{" + std::string(*left) + "} " + std::string(op_text) + ">>>" +
                  first20(text) + "\"");
            return false;
        }
        std::optional<std::string_view> right = curly_payload(text);
        if (!right) return false;

        // The right operand only after a good left one: a failed operand
        // must not leave its sibling to fail all over again (an operand
        // that names the value it is in doubled the work at every level).
        std::optional<std::string> lhs = sub_expand(*left);
        if (!lhs) return false;
        std::optional<std::string> rhs = sub_expand(*right);
        if (!rhs) return false;
        if (options_.scan) {
            value.reset();
            return true;
        }
        std::optional<bool> truth =
            level_compare ? compare_levels(*lhs, *rhs, op->op) : compare_values(*lhs, *rhs, op->op);
        if (!truth) return false;
        value = *truth ? "true" : "";
        return true;
    }

    std::optional<bool> compare_values(const std::string& lhs, const std::string& rhs, RelOp op) {
        if (all_digits(lhs) && all_digits(rhs)) {
            std::optional<long> a = to_long(lhs), b = to_long(rhs);
            if (!a || !b) return std::nullopt;
            return compare(*a - *b, op);
        }
        int c = lhs.compare(rhs);
        return compare(c < 0 ? -1 : c > 0 ? 1 : 0, op);
    }

    std::optional<long> to_long(const std::string& digits) {
        errno = 0;
        char* end = nullptr;
        long v = std::strtol(digits.c_str(), &end, 10);
        // Stock dies here; the value bound keeps the subtraction safe.
        if (errno == ERANGE || *end != 0 || v > LONG_MAX / 2) {
            error("mac_exp_eval: bad conversion: " + digits);
            return std::nullopt;
        }
        return v;
    }

    std::optional<bool> compare_levels(const std::string& lhs, const std::string& rhs, RelOp op) {
        std::optional<long> a = compat_level_from_string(lhs);
        if (!a) {
            error("malformed compatibility level syntax: " + quoted(lhs));
            return std::nullopt;
        }
        std::optional<long> b = compat_level_from_string(rhs);
        if (!b) {
            error("malformed compatibility level syntax: " + quoted(rhs));
            return std::nullopt;
        }
        return compare(*a - *b, op);
    }

    void on_expression(const std::string& expr) {
        if (!enter(expr)) return;
        ++shared_.depth;
        ++shared_.evaluations;
        const bool done = evaluate(expr);
        --shared_.depth;
        if (done) leave();
    }

    // One $-expression. Returns false after an error (the level then stays
    // raised, as in stock).
    bool evaluate(std::string_view expr) {
        std::optional<std::string> value;
        char op = 0;
        std::string_view rest = expr;
        if (at_curly(rest)) {
            if (!relational(rest, value)) return false;
            if (!rest.empty()) {
                if (rest.front() != '?' && rest.front() != ':') {
                    error("\"?\" or \":\" expected at: \"...}>>>" + first20(rest) + "\"");
                    return false;
                }
                op = rest.front();
                rest.remove_prefix(1);
            }
        } else {
            std::string_view start = skip_space(expr);
            std::size_t i = 0;
            MacMode mode = MacMode::use;
            for (;; ++i) {
                std::string_view tail = skip_space(start.substr(i));
                if (tail.empty()) break;
                if (tail.front() == '?' || tail.front() == ':') {
                    op = tail.front();
                    mode = MacMode::test;
                    rest = tail.substr(1);
                    break;
                }
                if (!is_name_char(start[i])) {
                    const std::size_t done = static_cast<std::size_t>(start.data() - expr.data()) + i;
                    error("attribute name syntax error at: \"..." + std::string(expr.substr(0, done)) + ">>>" +
                          first20(expr.substr(done)) + "\"");
                    return false;
                }
            }
            value = lookup_(start.substr(0, i), mode);
        }
        const bool non_empty = value && !value->empty();
        if (op == '?') {
            std::string_view if_true;
            if (at_curly(rest)) {
                std::optional<std::string_view> payload = curly_payload(rest);
                if (!payload) return false;
                if_true = *payload;
            } else {
                if_true = rest;
                rest = {};
            }
            if (non_empty || options_.scan) parse(if_true);
            if (rest.empty()) return true;
            if (rest.front() != ':') {
                error("\":\" expected at: \"..." + std::string(if_true) + "}>>>" + first20(rest) + "\"");
                return false;
            }
            rest.remove_prefix(1);
            op = ':';
        }
        if (op == ':') {
            std::string_view if_false;
            if (at_curly(rest)) {
                std::optional<std::string_view> payload = curly_payload(rest);
                if (!payload) return false;
                if_false = *payload;
            } else {
                if_false = rest;
                rest = {};
            }
            if (!non_empty || options_.scan) parse(if_false);
            if (!rest.empty()) {
                error("unexpected input at: \"..." + std::string(if_false) + "}>>>" + first20(rest) + "\"");
                return false;
            }
            return true;
        }
        if (!value) {
            result_.undefined = true;
        } else if (value->empty() || options_.scan) {
            // nothing to add
        } else if (options_.recurse) {
            parse(*value);
        } else {
            std::string text = *value;
            if (options_.filter) {
                for (char& c : text)
                    if (options_.filter->find(c) == std::string_view::npos) c = '_';
            }
            result_.text += text;
        }
        return true;
    }

    const MacLookup& lookup_;
    const MacExpandOptions& options_;
    MacExpandResult& result_;
    Shared& shared_;
    int level_ = 0;
    bool failed_ = false;
};

} // namespace

MacExpandResult mac_expand(std::string_view pattern, const MacLookup& lookup, const MacExpandOptions& options) {
    MacExpandResult result;
    Shared shared;
    Expander(lookup, options, result, shared).parse(pattern);
    if (options.scan) result.text.clear();
    return result;
}

std::vector<std::string> mac_scan_names(std::string_view pattern) {
    std::vector<std::string> names;
    MacExpandOptions options;
    options.scan = true;
    mac_expand(
        pattern,
        [&names](std::string_view name, MacMode) -> std::optional<std::string> {
            names.emplace_back(name);
            return std::nullopt;
        },
        options);
    return names;
}

std::optional<long> compat_level_from_string(std::string_view text) {
    // major[.minor[.patch]]: major 0..2047+, minor and patch 0..1023, each
    // converted like strtol() (stock uses sane_strtol on the same text).
    constexpr int kMinorBits = 10, kPatchBits = 10;
    constexpr long kPartMax = 1023;
    std::string copy(text);
    const char* p = copy.c_str();
    long parts[3] = {0, 0, 0};
    for (int n = 0; n < 3; ++n) {
        char* end = nullptr;
        errno = 0;
        long v = std::strtol(p, &end, 10);
        if (end == p || errno == ERANGE || v < 0) return std::nullopt;
        if (n == 0 && v > (LONG_MAX >> (kMinorBits + kPatchBits))) return std::nullopt;
        if (n > 0 && v > kPartMax) return std::nullopt;
        parts[n] = v;
        if (*end == 0) return (parts[0] << (kMinorBits + kPatchBits)) | (parts[1] << kPatchBits) | parts[2];
        if (*end != '.' || n == 2) return std::nullopt;
        p = end + 1;
    }
    return std::nullopt;
}

} // namespace psm
