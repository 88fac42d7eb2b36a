// Child command line and environment, built once per service (argv) and per
// configuration (environment) so that a fork only copies pointers.
#include "child_command.hpp"

#include "psm/util/text.hpp"

#include <cstdio>
#include <map>
#include <string_view>

namespace psm::master {

namespace {

std::string_view basename_of(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

} // namespace

ChildArgv build_child_argv(const MasterService& service, const ArgvFlags& flags) {
    ChildArgv out;
    auto& a = out.argv;
    a.push_back(service.command);
    if (service.max_proc == 1) a.emplace_back("-l");
    if (service.max_proc == 0) a.emplace_back("-z");
    if (basename_of(service.command) != service.name) {
        a.emplace_back("-n");
        a.push_back(service.name);
    }
    a.emplace_back("-t");
    a.emplace_back(service_type_name(service.type));
    if (!flags.master_detached) a.emplace_back("-d");
    if (flags.verbose) a.emplace_back("-v");
    if (service.unprivileged) a.emplace_back("-u");
    if (service.chroot) a.emplace_back("-c");
    if (service.max_proc > 1 && !flags.local_only) {
        a.emplace_back("-o");
        out.stress_index = static_cast<int>(a.size());
        a.emplace_back("stress=");
    }
    if (flags.listen_fd_count > 1) {
        a.emplace_back("-s");
        a.push_back(std::to_string(flags.listen_fd_count));
    }
    a.insert(a.end(), service.args.begin(), service.args.end());
    return out;
}

std::vector<std::string> build_child_environment(const std::vector<std::string>& current,
                                                 const EnvironmentSettings& settings) {
    // Master's view before filtering: its own environment plus MAIL_LOGTAG
    // (stock sets it from syslog_name before it applies import_environment).
    std::map<std::string, std::string, std::less<>> before;
    for (const std::string& entry : current) {
        auto eq = entry.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        before.emplace(entry.substr(0, eq), entry.substr(eq + 1)); // first wins, as getenv()
    }
    before.insert_or_assign("MAIL_LOGTAG", settings.syslog_name);

    // clean_env(): keep the listed names, force NAME=value items.
    std::vector<std::pair<std::string, std::string>> kept;
    auto set = [&kept](std::string name, std::string value) {
        for (auto& [n, v] : kept)
            if (n == name) {
                v = std::move(value);
                return;
            }
        kept.emplace_back(std::move(name), std::move(value));
    };
    for (const std::string& item : split_tokens(settings.import_environment)) {
        auto eq = item.find('=');
        if (eq != std::string::npos) {
            set(item.substr(0, eq), item.substr(eq + 1));
        } else if (auto it = before.find(item); it != before.end()) {
            set(item, it->second);
        }
    }
    // psmaster's daemons default to /etc/postfix: always say where we are.
    set("MAIL_CONFIG", settings.config_dir);
    if (!settings.maillog_file.empty()) {
        set("POSTLOG_SERVICE", settings.queue_directory + "/public/" + settings.postlog_service_name);
        set("POSTLOG_HOSTNAME", settings.myhostname);
    }
    std::vector<std::string> out;
    out.reserve(kept.size());
    for (auto& [n, v] : kept)
        out.push_back(n + "=" + v);
    return out;
}

std::string generation_variable(unsigned generation) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "GENERATION=%o", generation);
    return buf;
}

} // namespace psm::master
