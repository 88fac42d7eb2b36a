// Building master's plan from main.cf + master.cf, and the reload diff.
#include "service_plan.hpp"

#include "psm/util/error.hpp"

#include <pwd.h>

namespace psm::master {

namespace {

struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
};

// Stock's mail_params_init() wording for a bad mail_owner.
Owner lookup_owner(const Config& config, const std::string& name) {
    const passwd* pw = ::getpwnam(name.c_str());
    const std::string where = "file " + config.config_directory() + "/main.cf: parameter mail_owner: ";
    if (pw == nullptr) throw ConfigError(where + "unknown user name value: " + name);
    if (pw->pw_uid == 0) throw ConfigError(where + "user " + name + " has privileged user ID");
    Owner o;
    o.uid = pw->pw_uid;
    o.gid = pw->pw_gid;
    return o;
}

std::string where(const MasterService& s) {
    return s.file + ": line " + std::to_string(s.line) + ": ";
}

} // namespace

bool ServicePlan::same_listeners(const ServicePlan& other) const {
    return same_identity(other) && addresses == other.addresses && port == other.port;
}

MasterPlan build_master_plan(const Config& config, const MasterCf& master_cf, const PlanOptions& options) {
    MasterPlan plan;
    MasterSettings& g = plan.settings;
    g.config_dir = config.config_directory();
    g.queue_directory = config.get_str("queue_directory");
    g.data_directory = config.get_str("data_directory");
    g.daemon_directory = config.get_str("daemon_directory");
    g.pid_file = config.get_str("process_id_directory") + "/" + options.program + ".pid";
    g.lock_file = g.data_directory + "/" + options.program + ".lock";
    g.mail_owner = config.get_str("mail_owner");
    if (options.lookup_owner) {
        Owner o = lookup_owner(config, g.mail_owner);
        g.owner_uid = o.uid;
        g.owner_gid = o.gid;
    }
    g.process_limit = static_cast<int>(config.get_int("default_process_limit"));
    g.inet_interfaces = config.get_str("inet_interfaces");
    g.inet_protocols = config.get_str("inet_protocols");

    EnvironmentSettings env;
    env.import_environment = config.get_str("import_environment");
    env.config_dir = g.config_dir;
    env.syslog_name = config.get_str("syslog_name");
    env.maillog_file = config.get_str("maillog_file");
    env.queue_directory = g.queue_directory;
    env.postlog_service_name = config.get_str("postlog_service_name");
    if (!env.maillog_file.empty()) env.myhostname = config.get_str("myhostname");
    g.environment = build_child_environment(options.environment, env);

    const InetProtocols protocols = parse_inet_protocols(g.inet_protocols, &plan.warnings);
    bool inet_disabled = false;
    if (protocols.none()) {
        plan.warnings.push_back("all network protocols are disabled (inet_protocols = " + g.inet_protocols + ")");
        plan.warnings.push_back("disabling all type \"inet\" services in master.cf");
        inet_disabled = true;
    }
    const std::string known_ports = config.get_str("known_tcp_ports");
    const long throttle = config.get_time("service_throttle_time");
    std::vector<InetAddr> interfaces;
    bool interfaces_done = false;

    plan.warnings.insert(plan.warnings.end(), master_cf.warnings.begin(), master_cf.warnings.end());
    plan.notes.insert(plan.notes.end(), master_cf.notes.begin(), master_cf.notes.end());

    for (const MasterService& s : master_cf.services) {
        if (s.type == ServiceType::inet && inet_disabled) continue;
        ServicePlan p;
        p.ext_name = s.name;
        p.type = s.type;
        p.name = s.type == ServiceType::inet ? s.name : s.socket_path;
        p.path = g.daemon_directory + "/" + s.command;
        p.max_proc = s.max_proc;
        p.wakeup = s.wakeup;
        p.wakeup_conditional = s.wakeup_conditional;
        p.throttle_delay = throttle;
        p.file = s.file;
        p.line = s.line;
        bool local_only = s.type != ServiceType::pass;
        if (s.type == ServiceType::inet) {
            if (!s.host.empty()) {
                p.addresses = host_addresses(s.host, protocols);
                if (p.addresses.empty()) throw ConfigError(where(s) + "bad hostname or network address: " + s.name);
            } else {
                if (!interfaces_done) {
                    interfaces = interface_addresses(g.inet_interfaces, protocols);
                    interfaces_done = true;
                }
                p.addresses = interfaces;
                if (p.addresses.empty())
                    throw ConfigError("config variable inet_interfaces: host not found: " + g.inet_interfaces);
            }
            auto port = resolve_port(s.port, known_ports);
            if (!port) throw ConfigError(where(s) + s.name + ": Servname not supported for ai_socktype");
            p.port = *port;
            for (const InetAddr& a : p.addresses)
                if (!is_loopback(a)) local_only = false;
        }
        ArgvFlags flags;
        flags.master_detached = options.detached;
        flags.verbose = options.verbose;
        flags.listen_fd_count = p.listen_fd_count();
        flags.local_only = local_only;
        p.argv = build_child_argv(s, flags);
        plan.services.push_back(std::move(p));
    }
    return plan;
}

MasterPlan load_master_plan(const std::string& config_dir, const PlanOptions& options) {
    Config config = Config::load(config_dir);
    MasterCf master_cf = read_master_cf(config_dir + "/master.cf", config);
    return build_master_plan(config, master_cf, options);
}

PlanDiff diff_plans(const std::vector<ServicePlan>& old_services, const std::vector<ServicePlan>& new_services) {
    PlanDiff diff;
    std::vector<bool> old_seen(old_services.size(), false);
    for (std::size_t n = 0; n < new_services.size(); ++n) {
        bool found = false;
        for (std::size_t o = 0; o < old_services.size(); ++o) {
            if (!old_seen[o] && old_services[o].same_identity(new_services[n])) {
                old_seen[o] = true;
                found = true;
                break;
            }
        }
        (found ? diff.kept : diff.added).push_back(n);
    }
    for (std::size_t o = 0; o < old_services.size(); ++o)
        if (!old_seen[o]) diff.removed.push_back(o);
    return diff;
}

} // namespace psm::master
