// main.cf with Postfix semantics: logical lines (leading white space
// continues a line, '#' comments only at the start of a line), "name =
// value" entries where a later entry replaces an earlier one, and the
// configuration seen by a daemon: -o overrides > main.cf > built-in
// defaults from the parameter registry, with recursive $name expansion and
// typed, range-checked getters.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "psm/util/error.hpp"

namespace psm {

struct ConfigEntry {
    std::string name;
    std::string value;
    int line = 0; // first physical line of the logical line (0: not from a file)
};

struct MainCfFile {
    std::string path;
    // In file order; a name defined again keeps its place and takes the
    // later value and line.
    std::vector<ConfigEntry> entries;
    // Stock's warnings, to be logged by the caller, e.g.
    // "PATH, line 2: overriding earlier entry: myhostname=a",
    // "PATH: logical line must not start with whitespace: \" foo = bar\"".
    std::vector<std::string> warnings;

    const ConfigEntry* find(std::string_view name) const;
};

// Throws ConfigError "PATH, line N: missing '=' after attribute name: \"TEXT\""
// (or "missing attribute name") for a malformed logical line.
MainCfFile parse_main_cf(std::string_view text, std::string_view path);

// Reads and parses a file. Throws ConfigError "open PATH: REASON" when it
// can't be read.
MainCfFile read_main_cf(const std::string& path);

// Postfix's split_nameval(): "name = value" with blanks trimmed. On error
// returns nullopt and sets *error to "missing attribute name" or
// "missing '=' after attribute name".
struct NameValue {
    std::string name;
    std::string value;
};
std::optional<NameValue> split_name_value(std::string_view text, std::string* error = nullptr);

// Extra variables for one evaluation, shadowing every other source, e.g.
// {{"stress", "yes"}} to get postscreen_greet_wait as under stress.
using ConfigOverlay = std::vector<std::pair<std::string, std::string>>;

// Thrown when $name expansion fails. what() is stock's fatal text
// "dictionary mail_dict: macro processing error"; the details (stock's
// warnings) have already been logged with msg_warn.
class MacroError : public ConfigError {
public:
    explicit MacroError(std::vector<std::string> details);
    const std::vector<std::string>& details() const { return details_; }

private:
    std::vector<std::string> details_;
};

class Config {
public:
    enum class Source { none, builtin, main_cf, override };

    // Built-in defaults only; config_directory is its default.
    Config();

    // Reads CONFIG_DIR/main.cf (ConfigError when missing or malformed) and
    // logs its warnings. config_directory is set to CONFIG_DIR first, so
    // it is an explicit setting, as in stock.
    static Config load(const std::string& config_dir);

    // Same from an already parsed file (tests, psconf).
    static Config from_main_cf(MainCfFile file, std::string config_dir);

    // The directory given to load() ("/etc/postfix" by default).
    const std::string& config_directory() const { return config_dir_; }
    const MainCfFile& main_cf() const { return file_; }

    // -o name=value (master.cf or command line): overrides main.cf.
    void set_override(std::string_view name, std::string_view value);
    // The argument of -o as given ("name = value"). Throws ConfigError
    // "invalid \"-o TEXT\" option value: missing '=' after attribute name".
    void apply_option(std::string_view option_text);
    // Like a main.cf entry that replaces any earlier one (mail_conf_update).
    void update(std::string_view name, std::string_view value);

    Source source(std::string_view name) const;

    // The unexpanded value from the strongest source; nullopt when the
    // name has no value anywhere.
    std::optional<std::string> raw(std::string_view name) const;

    // $name expansion against this configuration. Throws MacroError.
    std::string expand(std::string_view text, const ConfigOverlay& overlay = {}) const;

    // Typed getters for registry parameters (std::logic_error for a name
    // the registry lacks: add it there). Values are expanded unless the
    // parameter is raw; limits and units come from the registry. Errors
    // are ConfigErrors worded as stock, e.g.
    // "parameter postscreen_greet_wait: bad time value or unit: 6x",
    // "invalid postscreen_greet_wait: 0 (min 1)",
    // "bad string length 0 < 1: myhostname = ".
    std::string get_str(std::string_view name, const ConfigOverlay& overlay = {}) const;
    long get_time(std::string_view name, const ConfigOverlay& overlay = {}) const;
    long get_int(std::string_view name, const ConfigOverlay& overlay = {}) const; // integer and long_integer
    bool get_bool(std::string_view name, const ConfigOverlay& overlay = {}) const;

private:
    std::optional<std::string> lookup(std::string_view name, const ConfigOverlay* overlay) const;
    std::string value_of(std::string_view name, const ConfigOverlay& overlay) const;

    std::string config_dir_;
    MainCfFile file_;
    std::map<std::string, std::string, std::less<>> main_;             // config_directory + main.cf + update()
    std::map<std::string, std::string, std::less<>> overrides_;        // -o
    mutable std::map<std::string, std::string, std::less<>> computed_; // computed defaults, cached
};

} // namespace psm
