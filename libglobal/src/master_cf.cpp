// master.cf parsing with stock master(8)'s field rules and error wording.
#include "psm/global/master_cf.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "logical_lines.hpp"
#include "psm/global/mac_expand.hpp"
#include "psm/util/text.hpp"

namespace psm {
namespace {

constexpr std::string_view kBlanks = " \t\r\n";
constexpr std::size_t kMaxMasterCfBytes = 16u << 20;

struct TypeName {
    std::string_view name;
    ServiceType type;
};
constexpr TypeName kTypes[] = {
    {"inet", ServiceType::inet}, {"unix", ServiceType::unix_stream}, {"unix-dgram", ServiceType::unix_dgram},
    {"fifo", ServiceType::fifo}, {"pass", ServiceType::pass},
};

// Reads blank-separated fields from one logical line; errors carry the
// file and line as stock master words them.
class EntryReader {
public:
    EntryReader(std::string_view text, std::string prefix) : rest_(text), prefix_(std::move(prefix)) {}

    [[noreturn]] void fail(const std::string& reason) const { throw ConfigError(prefix_ + reason); }

    std::optional<std::string_view> token() {
        std::size_t b = rest_.find_first_not_of(kBlanks);
        if (b == std::string_view::npos) {
            rest_ = {};
            return std::nullopt;
        }
        std::size_t e = rest_.find_first_of(kBlanks, b);
        std::string_view t = rest_.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b);
        rest_ = e == std::string_view::npos ? std::string_view{} : rest_.substr(e);
        return t;
    }

    // A field; "-" gives def (no default: an error).
    std::string field(std::string_view name, std::optional<std::string_view> def, bool* defaulted = nullptr) {
        std::optional<std::string_view> t = token();
        if (!t) fail("missing \"" + std::string(name) + "\" field");
        if (defaulted != nullptr) *defaulted = *t == "-";
        if (*t != "-") return std::string(*t);
        if (!def) fail("field \"" + std::string(name) + "\" has no default value");
        return std::string(*def);
    }

    bool bool_field(std::string_view name, std::string_view def, bool* defaulted = nullptr) {
        std::string v = field(name, def, defaulted);
        if (v == "y") return true;
        if (v == "n") return false;
        fail("field \"" + std::string(name) + "\": bad value: \"" + v + "\"");
    }

    // Leading digits as atoi() reads them (trailing text ignored), saturated.
    int int_field(std::string_view name, std::string_view def, std::string* as_written = nullptr) {
        std::string v = field(name, def);
        if (as_written != nullptr) *as_written = v;
        if (v.empty() || !std::isdigit(static_cast<unsigned char>(v.front())))
            fail("field \"" + std::string(name) + "\": bad value: \"" + v + "\"");
        long n = 0;
        for (char c : v) {
            if (!std::isdigit(static_cast<unsigned char>(c))) break;
            n = std::min<long>(n * 10 + (c - '0'), INT_MAX);
        }
        return static_cast<int>(n);
    }

    std::string_view rest() const { return rest_; }

private:
    std::string_view rest_;
    std::string prefix_;
};

bool valid_hostaddr(const std::string& host) {
    unsigned char buf[16];
    if (host.find(':') != std::string::npos) return ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1;
}

// valid_hostname(): labels of letters, digits, '-' and '_' (not starting or
// ending with '-'), at most 63 bytes each and 255 in all, not all numeric.
bool valid_hostname(const std::string& host) {
    if (host.empty() || host.size() > 255) return false;
    bool non_numeric = false;
    std::size_t label = 0;
    for (std::size_t i = 0; i < host.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(host[i]);
        if (c == '.') {
            if (label == 0 || host[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        if (std::isalpha(c) || c == '_' || c >= 0x80)
            non_numeric = true;
        else if (c == '-') {
            non_numeric = true;
            if (label == 0) return false;
        } else if (!std::isdigit(c)) {
            return false;
        }
        if (++label > 63) return false;
    }
    return label > 0 && host.back() != '-' && non_numeric;
}

// host_port() with an empty default host and no default service: returns
// an error text, or fills host and port.
std::optional<std::string> split_host_port(std::string_view name, std::string& host, std::string& port) {
    bool host_given = true;
    if (!name.empty() && name.front() == '[') {
        std::string_view rest = name.substr(1);
        bool ipv6_prefix = rest.size() >= 5 && iequals(rest.substr(0, 5), "ipv6:");
        if (ipv6_prefix) rest.remove_prefix(5);
        std::size_t close = rest.find(']');
        if (close == std::string_view::npos) return std::string("missing \"]\"");
        host.assign(rest.substr(0, close));
        rest.remove_prefix(close + 1);
        if (!rest.empty() && rest.front() != ':') return std::string("garbage after \"]\"");
        if (!rest.empty()) rest.remove_prefix(1);
        unsigned char buf[16];
        if (ipv6_prefix && ::inet_pton(AF_INET6, host.c_str(), buf) != 1) return std::string("malformed IPv6 address");
        if (rest.empty()) return std::string("missing service information");
        port.assign(rest);
    } else if (std::size_t colon = name.rfind(':'); colon != std::string_view::npos) {
        host.assign(name.substr(0, colon));
        host_given = !host.empty();
        if (colon + 1 == name.size()) return std::string("missing service information");
        port.assign(name.substr(colon + 1));
    } else {
        host.clear();
        host_given = false;
        port.assign(name);
    }
    if (host_given && !valid_hostname(host) && !valid_hostaddr(host))
        return std::string("valid hostname or network address required");
    if (std::isdigit(static_cast<unsigned char>(port.front())))
        for (char c : port)
            if (!std::isdigit(static_cast<unsigned char>(c))) return std::string("garbage after numerical service");
    return std::nullopt;
}

// match_service_match(): "name/type" or "type" patterns, '!' negates,
// case-insensitive, first match wins; the legacy "name.type" form too.
bool service_disabled(const std::string& patterns, std::string_view name, std::string_view type) {
    const std::string name_type = std::string(name) + "/" + std::string(type);
    for (std::string pattern : split_tokens(patterns, " ,\t\r\n")) {
        if (pattern.find('/') == std::string::npos)
            if (std::size_t dot = pattern.rfind('.'); dot != std::string::npos) pattern[dot] = '/';
        bool match = true;
        std::string_view p = pattern;
        while (!p.empty() && p.front() == '!') {
            match = !match;
            p.remove_prefix(1);
        }
        if (iequals(p.find('/') != std::string_view::npos ? std::string_view(name_type) : type, p)) return match;
    }
    return false;
}

void split_options(MasterService& s) {
    std::size_t i = 0;
    for (; i < s.args.size(); ++i) {
        const std::string& arg = s.args[i];
        if (arg.empty() || arg.front() != '-' || arg == "--") break;
        if (arg == "-o" && i + 1 < s.args.size()) {
            if (std::optional<NameValue> nv = split_name_value(s.args[i + 1])) {
                s.overrides.push_back(std::move(*nv));
                ++i;
                continue;
            }
        }
        s.other_args.push_back(arg);
    }
    for (; i < s.args.size(); ++i)
        s.other_args.push_back(s.args[i]);
}

std::string socket_identity(const MasterService& s) {
    return s.type == ServiceType::inet ? s.name : s.socket_path;
}

} // namespace

std::string_view service_type_name(ServiceType type) {
    for (const auto& t : kTypes)
        if (t.type == type) return t.name;
    return "unknown";
}

MasterCf parse_master_cf(std::string_view text, std::string_view path, const Config& config) {
    MasterCf result;
    const std::string disable = config.get_str("master_service_disable");
    const std::string compat_text = config.get_str("compatibility_level");
    const std::optional<long> compat = compat_level_from_string(compat_text);
    if (!compat) throw ConfigError("malformed compatibility level syntax: \"" + compat_text + "\"");
    const bool legacy_chroot = *compat < *compat_level_from_string("1");
    const std::string proc_limit = std::to_string(config.get_int("default_process_limit"));

    for (auto& logical : split_logical_lines(text, std::string(path), &result.warnings)) {
        const std::string prefix = std::string(path) + ": line " + std::to_string(logical.first_line) + ": ";
        EntryReader in(logical.text, prefix);
        std::optional<std::string_view> first = in.token();
        if (!first) continue;
        MasterService s;
        s.name.assign(*first);
        s.file.assign(path);
        s.line = logical.first_line;

        const std::string type = in.field("transport type", std::nullopt);
        if (service_disabled(disable, s.name, type)) continue;
        bool known = false;
        for (const auto& t : kTypes) {
            if (t.name == type) {
                s.type = t.type;
                known = true;
            }
        }
        if (!known) in.fail("bad transport type: " + type);
        if (s.type == ServiceType::inet) {
            if (std::optional<std::string> err = split_host_port(s.name, s.host, s.port))
                in.fail(*err + " in \"" + s.name + "\"");
        }

        s.private_service = in.bool_field("private", "y");
        if (s.type == ServiceType::inet) {
            if (s.private_service) in.fail("inet service cannot be private");
        } else {
            s.socket_path = (s.private_service ? "private/" : "public/") + s.name;
        }
        s.unprivileged = in.bool_field("unprivileged", "y");
        bool chroot_defaulted = false;
        s.chroot = in.bool_field("chroot", legacy_chroot ? "y" : "n", &chroot_defaulted);
        if (chroot_defaulted && legacy_chroot)
            result.notes.push_back(prefix + "using backwards-compatible default setting chroot=y");

        std::string wakeup_text;
        s.wakeup = in.int_field("wakeup_time", "0", &wakeup_text);
        s.wakeup_conditional = s.wakeup > 0 && wakeup_text.back() == '?';
        s.max_proc = in.int_field("max_proc", proc_limit);
        s.command = in.field("command", std::nullopt);

        for (std::string& arg : split_tokens_braced(in.rest(), kBlanks)) {
            if (arg.front() == '{') {
                std::string err;
                std::optional<std::string> inside = strip_braces(arg, &err);
                if (!inside) in.fail(err);
                arg = std::move(*inside);
            }
            s.args.push_back(std::move(arg));
        }
        split_options(s);

        bool replaced = false;
        for (auto& old : result.services) {
            if (old.type != s.type || socket_identity(old) != socket_identity(s)) continue;
            result.warnings.push_back("duplicate master.cf entry for service \"" + s.name + "\" (" +
                                      socket_identity(s) + ") -- using the last entry");
            old = std::move(s);
            replaced = true;
            break;
        }
        if (!replaced) result.services.push_back(std::move(s));
    }
    return result;
}

MasterCf read_master_cf(const std::string& path, const Config& config) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("open " + path + ": " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string text = std::move(buf).str();
    if (text.size() > kMaxMasterCfBytes) throw ConfigError("read " + path + ": " + std::strerror(EFBIG));
    return parse_master_cf(text, path, config);
}

} // namespace psm
