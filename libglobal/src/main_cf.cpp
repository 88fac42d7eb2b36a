// main.cf reading (logical lines, name = value, later entries win) and the
// layered configuration with $name expansion and typed getters.
#include "psm/global/main_cf.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "logical_lines.hpp"
#include "psm/global/mac_expand.hpp"
#include "psm/global/parameters.hpp"
#include "psm/util/config_values.hpp"
#include "psm/util/log.hpp"

namespace psm {
namespace {

// A main.cf larger than this is refused (it is read into memory).
constexpr std::size_t kMaxMainCfBytes = 16u << 20;

// Stock re-reads a file that changed within the last second, after 2 s,
// to let an editor finish. Bounded here.
constexpr int kMaxEditorWaits = 3;
constexpr unsigned kEditorWaitSeconds = 2;

std::string_view trim_space(std::string_view s) {
    while (!s.empty() && is_postfix_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_postfix_space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string errno_text(int err) {
    return std::strerror(err);
}

long bound_or(long bound, long none) {
    return bound == 0 ? none : bound;
}

// Names of computed defaults being evaluated (guards against a default
// that, through explicit settings, ends up needing itself).
thread_local std::set<std::string, std::less<>> computing;

} // namespace

const ConfigEntry* MainCfFile::find(std::string_view name) const {
    for (const auto& e : entries)
        if (e.name == name) return &e;
    return nullptr;
}

std::optional<NameValue> split_name_value(std::string_view text, std::string* error) {
    auto fail = [error](const char* why) -> std::optional<NameValue> {
        if (error != nullptr) *error = why;
        return std::nullopt;
    };
    std::size_t i = 0;
    while (i < text.size() && is_postfix_space(text[i]))
        ++i;
    if (i == text.size()) return fail("missing attribute name");
    const std::size_t name_start = i;
    while (i < text.size() && !is_postfix_space(text[i]) && text[i] != '=')
        ++i;
    const std::size_t name_end = i;
    while (i < text.size() && is_postfix_space(text[i]))
        ++i;
    if (i == text.size() || text[i] != '=') return fail("missing '=' after attribute name");
    if (name_end == name_start) return fail("missing attribute name");
    NameValue nv;
    nv.name.assign(text.substr(name_start, name_end - name_start));
    nv.value.assign(trim_space(text.substr(i + 1)));
    return nv;
}

MainCfFile parse_main_cf(std::string_view text, std::string_view path) {
    MainCfFile file;
    file.path.assign(path);
    for (auto& logical : split_logical_lines(text, std::string(path), &file.warnings)) {
        std::string why;
        std::optional<NameValue> nv = split_name_value(logical.text, &why);
        if (!nv)
            throw ConfigError(file.path + ", line " + std::to_string(logical.first_line) + ": " + why + ": \"" +
                              logical.text + "\"");
        bool replaced = false;
        for (auto& e : file.entries) {
            if (e.name != nv->name) continue;
            if (e.value != nv->value)
                file.warnings.push_back(file.path + ", line " + std::to_string(logical.first_line) +
                                        ": overriding earlier entry: " + e.name + "=" + e.value);
            e.value = std::move(nv->value);
            e.line = logical.first_line;
            replaced = true;
            break;
        }
        if (!replaced) {
            ConfigEntry entry;
            entry.name = std::move(nv->name);
            entry.value = std::move(nv->value);
            entry.line = logical.first_line;
            file.entries.push_back(std::move(entry));
        }
    }
    return file;
}

MainCfFile read_main_cf(const std::string& path) {
    for (int attempt = 0;; ++attempt) {
        const std::time_t before = std::time(nullptr);
        std::ifstream in(path, std::ios::binary);
        if (!in) throw ConfigError("open " + path + ": " + errno_text(errno));
        struct stat st = {};
        if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<std::size_t>(st.st_size) > kMaxMainCfBytes)
            throw ConfigError("read " + path + ": " + errno_text(EFBIG));
        std::ostringstream buf;
        buf << in.rdbuf();
        if (in.bad()) throw ConfigError("read " + path + ": " + errno_text(errno));
        std::string text = std::move(buf).str();
        if (text.size() > kMaxMainCfBytes) throw ConfigError("read " + path + ": " + errno_text(EFBIG));
        MainCfFile file = parse_main_cf(text, path);
        const std::time_t after = std::time(nullptr);
        // A file modified while we read it (or just before) may be half
        // written: read it again once the editor is done.
        if (attempt >= kMaxEditorWaits || st.st_mtime < before - 1 || st.st_mtime > after) return file;
        ::sleep(kEditorWaitSeconds);
    }
}

MacroError::MacroError(std::vector<std::string> details)
    : ConfigError("dictionary mail_dict: macro processing error"), details_(std::move(details)) {}

Config::Config() {
    if (const ParamInfo* info = find_parameter("config_directory")) config_dir_.assign(info->default_value);
}

Config Config::load(const std::string& config_dir) {
    MainCfFile file = read_main_cf(config_dir + "/main.cf");
    Config config = from_main_cf(std::move(file), config_dir);
    for (const auto& w : config.file_.warnings)
        msg_warn("%s", w.c_str());
    return config;
}

Config Config::from_main_cf(MainCfFile file, std::string config_dir) {
    Config config;
    config.config_dir_ = std::move(config_dir);
    config.main_["config_directory"] = config.config_dir_;
    if (const ConfigEntry* e = file.find("config_directory"); e != nullptr && e->value != config.config_dir_)
        file.warnings.push_back(file.path + ", line " + std::to_string(e->line) +
                                ": overriding earlier entry: config_directory=" + config.config_dir_);
    for (const auto& e : file.entries)
        config.main_[e.name] = e.value;
    config.file_ = std::move(file);
    return config;
}

void Config::set_override(std::string_view name, std::string_view value) {
    overrides_[std::string(name)] = std::string(value);
    computed_.clear();
}

void Config::apply_option(std::string_view option_text) {
    std::string why;
    std::optional<NameValue> nv = split_name_value(option_text, &why);
    if (!nv) throw ConfigError("invalid \"-o " + std::string(option_text) + "\" option value: " + why);
    set_override(nv->name, nv->value);
}

void Config::update(std::string_view name, std::string_view value) {
    main_[std::string(name)] = std::string(value);
    computed_.clear();
}

Config::Source Config::source(std::string_view name) const {
    if (overrides_.find(name) != overrides_.end()) return Source::override;
    if (main_.find(name) != main_.end()) return Source::main_cf;
    if (find_parameter(name) != nullptr) return Source::builtin;
    return Source::none;
}

std::optional<std::string> Config::raw(std::string_view name) const {
    return lookup(name, nullptr);
}

std::optional<std::string> Config::lookup(std::string_view name, const ConfigOverlay* overlay) const {
    if (overlay != nullptr) {
        for (auto it = overlay->rbegin(); it != overlay->rend(); ++it)
            if (it->first == name) return it->second;
    }
    if (auto it = overrides_.find(name); it != overrides_.end()) return it->second;
    if (auto it = main_.find(name); it != main_.end()) return it->second;
    const ParamInfo* info = find_parameter(name);
    if (info == nullptr) return std::nullopt;
    if (info->compute == nullptr) return std::string(info->default_value);
    if (auto it = computed_.find(name); it != computed_.end()) return it->second;
    if (computing.count(name) != 0) return std::nullopt;
    computing.emplace(name);
    std::string value;
    try {
        value = info->compute(*this);
    } catch (...) {
        computing.erase(computing.find(name));
        throw;
    }
    computing.erase(computing.find(name));
    computed_[std::string(name)] = value;
    return value;
}

std::string Config::expand(std::string_view text, const ConfigOverlay& overlay) const {
    MacExpandOptions options;
    options.recurse = true;
    MacExpandResult result = mac_expand(
        text, [this, &overlay](std::string_view name, MacMode) { return lookup(name, &overlay); }, options);
    if (!result.ok()) {
        for (const auto& e : result.errors)
            msg_warn("%s", e.c_str());
        throw MacroError(std::move(result.errors));
    }
    return std::move(result.text);
}

std::string Config::value_of(std::string_view name, const ConfigOverlay& overlay) const {
    const ParamInfo* info = find_parameter(name);
    if (info == nullptr) throw std::logic_error("parameter " + std::string(name) + " is not in the registry");
    std::string raw_value = lookup(name, &overlay).value_or(std::string());
    if (info->type == ParamType::raw) return raw_value;
    return expand(raw_value, overlay);
}

std::string Config::get_str(std::string_view name, const ConfigOverlay& overlay) const {
    std::string value = value_of(name, overlay);
    const ParamInfo* info = find_parameter(name);
    const long len = static_cast<long>(value.size());
    if (info->min != 0 && len < info->min)
        throw ConfigError("bad string length " + std::to_string(len) + " < " + std::to_string(info->min) + ": " +
                          std::string(name) + " = " + value);
    if (info->max != 0 && len > info->max)
        throw ConfigError("bad string length " + std::to_string(len) + " > " + std::to_string(info->max) + ": " +
                          std::string(name) + " = " + value);
    return value;
}

long Config::get_time(std::string_view name, const ConfigOverlay& overlay) const {
    std::string value = value_of(name, overlay);
    const ParamInfo* info = find_parameter(name);
    if (info->type != ParamType::time) throw std::logic_error("parameter " + std::string(name) + " is not a time");
    long seconds = parse_time_value(name, value, info->time_unit);
    check_value_range(name, seconds, bound_or(info->min, std::numeric_limits<long>::min()),
                      bound_or(info->max, std::numeric_limits<long>::max()), ValueKind::time);
    return seconds;
}

long Config::get_int(std::string_view name, const ConfigOverlay& overlay) const {
    std::string value = value_of(name, overlay);
    const ParamInfo* info = find_parameter(name);
    long number = 0;
    if (info->type == ParamType::integer)
        number = parse_int_value(name, value);
    else if (info->type == ParamType::long_integer)
        number = parse_long_value(name, value);
    else
        throw std::logic_error("parameter " + std::string(name) + " is not a number");
    check_value_range(name, number, bound_or(info->min, std::numeric_limits<long>::min()),
                      bound_or(info->max, std::numeric_limits<long>::max()), ValueKind::integer);
    return number;
}

bool Config::get_bool(std::string_view name, const ConfigOverlay& overlay) const {
    std::string value = value_of(name, overlay);
    if (find_parameter(name)->type != ParamType::boolean)
        throw std::logic_error("parameter " + std::string(name) + " is not a boolean");
    return parse_bool_value(name, value);
}

} // namespace psm
