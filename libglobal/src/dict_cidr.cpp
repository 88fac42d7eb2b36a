// cidr: lookup tables (cidr_table(5), Postfix 3.7): rules "pattern result",
// "!pattern result", "if [!]pattern" ... "endif", read as logical lines
// from a file or from the inline form cidr:{ {rule}, {rule} }. Bad rules are
// warned about with stock's wording and skipped; first match wins.
#include "dict_file_reader.hpp"
#include "dict_keys.hpp"
#include "dict_surrogate.hpp"
#include "dict_types.hpp"

#include "psm/util/inet_addr.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <optional>
#include <string>
#include <vector>

namespace psm::dict_types {

namespace {

using dict_file::trim_trailing_space;

bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view skip_space(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_postfix_space(s[i]))
        ++i;
    return s.substr(i);
}

// True when `line` starts with `word` (case-insensitive) not followed by a
// letter or digit, as stock recognises IF and ENDIF.
bool starts_with_keyword(std::string_view line, std::string_view word) {
    return line.size() >= word.size() && iequals(line.substr(0, word.size()), word) &&
           (line.size() == word.size() || !is_alnum(line[word.size()]));
}

struct CidrRule {
    enum class Op { match, if_block, endif };
    Op op = Op::match;
    CidrBlock block{InetAddr(), 0};
    bool positive = true;
    size_t block_end = 0; // if_block: index of its endif, or npos
    std::string value;
};

// Parses one logical line; on error returns nullopt and sets `why`.
std::optional<CidrRule> parse_rule(std::string_view line, int nesting, std::string& why) {
    CidrRule rule;
    auto parse_pattern = [&](std::string_view pattern) {
        auto block = CidrBlock::parse(pattern, &why);
        if (block) rule.block = *block;
        return block.has_value();
    };
    // Negation operators; blanks may separate them from the pattern.
    auto strip_negation = [&](std::string_view p) {
        size_t i = 0;
        for (; i < p.size(); ++i) {
            if (p[i] == '!')
                rule.positive = !rule.positive;
            else if (!is_postfix_space(p[i]))
                break;
        }
        return p.substr(i);
    };

    if (starts_with_keyword(line, "if")) {
        std::string_view pattern = strip_negation(line.substr(2));
        if (pattern.empty()) {
            why = "no address pattern";
            return std::nullopt;
        }
        if (!parse_pattern(trim_trailing_space(pattern))) return std::nullopt;
        rule.op = CidrRule::Op::if_block;
        return rule;
    }
    if (starts_with_keyword(line, "endif")) {
        if (!skip_space(line.substr(5)).empty()) {
            why = "garbage after ENDIF";
            return std::nullopt;
        }
        if (nesting == 0) {
            why = "ENDIF without IF";
            return std::nullopt;
        }
        rule.op = CidrRule::Op::endif;
        return rule;
    }
    std::string_view rest = strip_negation(line);
    size_t end = 0;
    while (end < rest.size() && !is_postfix_space(rest[end]))
        ++end;
    std::string_view pattern = rest.substr(0, end);
    std::string_view value = trim_trailing_space(skip_space(rest.substr(end)));
    if (pattern.empty()) {
        why = "no address pattern";
        return std::nullopt;
    }
    if (!parse_pattern(pattern)) return std::nullopt;
    if (value.empty()) {
        why = "no lookup result";
        return std::nullopt;
    }
    rule.value = std::string(value);
    return rule;
}

class CidrDict final : public Dict {
public:
    CidrDict(std::string_view type_and_name, const std::string& name, std::string_view text)
        : Dict(std::string(type_and_name)) {
        LogicalLineReader lines(text, name);
        std::vector<std::pair<size_t, int>> open_ifs; // rule index, line number
        std::string why;
        while (auto line = lines.next()) {
            int lineno = line->first_line;
            auto rule = parse_rule(line->text, static_cast<int>(open_ifs.size()), why);
            if (!rule) {
                msg_warn("cidr map %s, line %d: %s: skipping this rule", name.c_str(), lineno, why.c_str());
                continue;
            }
            if (rule->op == CidrRule::Op::if_block) {
                rule->block_end = std::string::npos;
                open_ifs.emplace_back(rules_.size(), lineno);
            } else if (rule->op == CidrRule::Op::endif) {
                rules_[open_ifs.back().first].block_end = rules_.size();
                open_ifs.pop_back();
            }
            rules_.push_back(std::move(*rule));
        }
        for (auto it = open_ifs.rbegin(); it != open_ifs.rend(); ++it)
            msg_warn("cidr map %s, line %d: IF has no matching ENDIF", name.c_str(), it->second);
    }

    DictLookup lookup(std::string_view key) override {
        DictLookup result;
        auto address = InetAddr::parse(dict_keys::c_string(key));
        if (!address) return result;
        for (size_t i = 0; i < rules_.size(); ++i) {
            const CidrRule& rule = rules_[i];
            if (rule.op == CidrRule::Op::endif) continue;
            bool same_family = rule.block.network().family() == address->family();
            bool hit = same_family && rule.block.contains(*address) == rule.positive;
            if (rule.op == CidrRule::Op::match) {
                if (hit) {
                    result.status = DictStatus::found;
                    result.value = rule.value;
                    return result;
                }
            } else if (!hit) {
                if (rule.block_end == std::string::npos) return result; // unterminated IF
                i = rule.block_end;
            }
        }
        return result;
    }

private:
    std::vector<CidrRule> rules_;
};

} // namespace

std::unique_ptr<Dict> make_cidr(std::string_view type_and_name, std::string_view name, const DictOpenOptions& options) {
    std::string map_name(name);
    if (options.writable)
        return open_failure(type_and_name, options, "cidr:" + map_name + " map requires O_RDONLY access mode");
    std::string why;
    auto source = dict_file::read_table_source("cidr", map_name, &why);
    if (!source) return open_failure(type_and_name, options, why);
    return std::make_unique<CidrDict>(type_and_name, map_name, source->text);
}

} // namespace psm::dict_types
