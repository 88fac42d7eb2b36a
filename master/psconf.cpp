// psconf: show main.cf parameters the way postconf(1) does, for the
// parameters psmaster knows: effective values, defaults (-d) or explicit
// settings (-n), names and values or values only (-h), optionally expanded
// (-x) and folded (-f); warns about unknown names and unused settings with
// postconf's wording.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "psm/global/mac_expand.hpp"
#include "psm/global/main_cf.hpp"
#include "psm/global/master_cf.hpp"
#include "psm/global/parameters.hpp"

namespace {

using namespace psm;

constexpr std::string_view kProgram = "psconf";
constexpr std::string_view kSeparators = " \t\r\n";
constexpr std::size_t kLineLimit = 80;
constexpr std::string_view kIndent = "    ";

void warn(const std::string& text) {
    std::fprintf(stderr, "%s: warning: %s\n", kProgram.data(), text.c_str());
}

[[noreturn]] void fatal(const std::string& text) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: fatal: %s\n", kProgram.data(), text.c_str());
    std::exit(1);
}

[[noreturn]] void usage() {
    fatal("usage: psconf [-c config_dir] [-d (parameter defaults)] [-f (fold lines)] [-h (no names)] "
          "[-n (non-default parameters)] [-o name=value (override parameter value)] "
          "[-x (expand parameter values)] [name...]");
}

struct Options {
    std::optional<std::string> config_dir;
    bool defaults = false;
    bool non_default = false;
    bool fold = false;
    bool no_names = false;
    bool expand = false;
    std::vector<std::string> overrides;
    std::vector<std::string> names;
};

// postconf's print_line(): words separated by single spaces, optionally
// folded before column 80 with a 4-space indent.
void print_line(const std::string& text, bool fold) {
    std::string out;
    std::size_t line_len = 0;
    std::size_t pos = 0;
    while ((pos = text.find_first_not_of(kSeparators, pos)) != std::string::npos) {
        std::size_t end = text.find_first_of(kSeparators, pos);
        if (end == std::string::npos) end = text.size();
        const std::size_t word_len = end - pos;
        if (line_len > 0) {
            if (!fold || line_len + word_len < kLineLimit) {
                out += ' ';
                line_len += 1;
            } else {
                out += '\n';
                out += kIndent;
                line_len = kIndent.size();
            }
        }
        out.append(text, pos, word_len);
        line_len += word_len;
        pos = end;
    }
    out += '\n';
    std::fputs(out.c_str(), stdout);
}

class Shower {
public:
    Shower(const Options& options, Config config) : options_(options), config_(std::move(config)) {
        collect_legacy_names();
        if (!options_.defaults) register_user_parameters();
    }

    void show() {
        if (options_.names.empty()) {
            std::set<std::string> names;
            for (const ParamInfo& p : all_parameters())
                names.emplace(p.name);
            if (!options_.defaults) {
                names.insert(valid_user_.begin(), valid_user_.end());
                for (const auto& n : legacy_)
                    if (config_.source(n) >= Config::Source::main_cf) names.insert(n);
            }
            for (const auto& n : names)
                print(n);
        } else {
            for (const auto& n : options_.names) {
                if (!known(n))
                    warn(n + ": unknown parameter");
                else
                    print(n);
            }
        }
        std::fflush(stdout);
        if (!options_.defaults) flag_unused();
    }

private:
    // Names that defaults refer to for backward compatibility
    // (postscreen_blacklist_action, ...): known, with an empty default.
    void collect_legacy_names() {
        for (const ParamInfo& p : all_parameters())
            for (const auto& n : mac_scan_names(p.default_value))
                if (find_parameter(n) == nullptr) legacy_.insert(n);
    }

    bool known(const std::string& name) const {
        if (find_parameter(name) != nullptr || legacy_.count(name) != 0) return true;
        return !options_.defaults && valid_user_.count(name) != 0;
    }

    bool explicitly_set(std::string_view name) const { return config_.source(name) >= Config::Source::main_cf; }

    std::string main_cf_name() const { return config_.config_directory() + "/main.cf"; }

    // A $name in any value validates a user-defined "name = value"; a $name
    // with neither a value nor a default is reported.
    void scan(std::string_view value, const char* source = "main.cf") {
        for (const auto& n : mac_scan_names(value)) {
            if (explicitly_set(n)) {
                if (find_parameter(n) == nullptr && legacy_.count(n) == 0) valid_user_.insert(n);
            } else if (find_parameter(n) == nullptr && legacy_.count(n) == 0 && undefined_reported_.insert(n).second) {
                warn(config_.config_directory() + "/" + source + ": undefined parameter: " + n);
            }
        }
    }

    static bool is_raw(std::string_view name) {
        const ParamInfo* p = find_parameter(name);
        return p != nullptr && p->type == ParamType::raw;
    }

    void register_user_parameters() {
        const std::string master_path = config_.config_directory() + "/master.cf";
        try {
            for (const auto& service : read_master_cf(master_path, config_).services)
                for (const auto& o : service.overrides)
                    scan(o.value, "master.cf");
        } catch (const ConfigError& e) {
            warn(e.what());
        }
        for (const ParamInfo& p : all_parameters())
            if (p.type != ParamType::raw && !explicitly_set(p.name)) scan(p.default_value);
        for (const auto& e : config_.main_cf().entries)
            if (!is_raw(e.name)) scan(e.value);
    }

    void flag_unused() const {
        for (const auto& e : config_.main_cf().entries)
            if (!known(e.name)) warn(main_cf_name() + ": unused parameter: " + e.name + "=" + e.value);
    }

    std::optional<std::string> value_of(const std::string& name) const {
        const bool legacy = find_parameter(name) == nullptr && legacy_.count(name) != 0;
        if (options_.defaults) return legacy ? std::string() : defaults_.raw(name);
        if (explicitly_set(name)) return config_.raw(name);
        if (options_.non_default) return std::nullopt;
        return legacy ? std::string() : config_.raw(name);
    }

    std::string expanded(const std::string& value) const {
        const Config& source = options_.defaults ? defaults_ : config_;
        MacExpandOptions mo;
        mo.recurse = true;
        MacExpandResult r = mac_expand(
            value,
            [&](std::string_view name, MacMode) -> std::optional<std::string> {
                const std::string n(name);
                if (!known(n)) return std::nullopt;
                if (find_parameter(n) == nullptr && !explicitly_set(n)) return std::string();
                return source.raw(n);
            },
            mo);
        if (!r.ok()) {
            for (const auto& e : r.errors)
                warn(e);
            fatal("macro processing error");
        }
        return r.text;
    }

    void print(const std::string& name) {
        std::optional<std::string> value;
        try {
            value = value_of(name);
            if (value && options_.expand && !is_raw(name)) value = expanded(*value);
        } catch (const ConfigError& e) {
            fatal(e.what());
        }
        if (!value) return;
        print_line(options_.no_names ? *value : name + " = " + *value, options_.fold);
    }

    const Options& options_;
    Config config_;
    Config defaults_; // built-in defaults only (-d)
    std::set<std::string, std::less<>> legacy_;
    std::set<std::string, std::less<>> valid_user_;
    std::set<std::string> undefined_reported_;
};

Options parse_options(int argc, char** argv) {
    Options o;
    int ch;
    while ((ch = ::getopt(argc, argv, "c:dfhno:x")) != -1) {
        switch (ch) {
        case 'c':
            o.config_dir = optarg;
            break;
        case 'd':
            o.defaults = true;
            break;
        case 'f':
            o.fold = true;
            break;
        case 'h':
            o.no_names = true;
            break;
        case 'n':
            o.non_default = true;
            break;
        case 'o':
            o.overrides.emplace_back(optarg);
            break;
        case 'x':
            o.expand = true;
            break;
        default:
            usage();
        }
    }
    if (o.defaults && o.non_default) fatal("specify one of -d and -n");
    for (int i = optind; i < argc; ++i)
        o.names.emplace_back(argv[i]);
    return o;
}

} // namespace

int main(int argc, char** argv) {
    Options options = parse_options(argc, argv);
    std::string config_dir;
    if (options.config_dir)
        config_dir = *options.config_dir;
    else if (const char* env = std::getenv("MAIL_CONFIG"); env != nullptr && *env != 0)
        config_dir = env;
    else
        config_dir = Config().config_directory();

    Config config;
    try {
        if (!options.defaults) {
            config = Config::from_main_cf(read_main_cf(config_dir + "/main.cf"), config_dir);
            for (const auto& w : config.main_cf().warnings)
                warn(w);
        }
        for (const auto& o : options.overrides)
            config.apply_option(o);
    } catch (const ConfigError& e) {
        fatal(e.what());
    }
    Shower(options, std::move(config)).show();
    return 0;
}
