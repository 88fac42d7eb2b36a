// The configuration master runs: global settings from main.cf and one
// ServicePlan per master.cf entry, with everything resolved that a fork
// needs (daemon path, argv, environment, listen addresses), and the
// difference between two plans that SIGHUP applies.
#pragma once

#include "child_command.hpp"
#include "inet_endpoints.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/global/master_cf.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace psm::master {

struct ServicePlan {
    std::string name;     // internal: as written for inet, "private/x" or "public/x" otherwise
    std::string ext_name; // master.cf field 1 as written
    ServiceType type = ServiceType::unix_stream;
    std::string path; // daemon_directory + "/" + command
    ChildArgv argv;
    int max_proc = 0; // 0 = no limit
    int wakeup = 0;
    bool wakeup_conditional = false;
    long throttle_delay = 60;
    // inet only: one listen socket per address, all on `port`.
    std::vector<InetAddr> addresses;
    std::uint16_t port = 0;
    std::string file; // master.cf and line of the entry, for messages
    int line = 0;

    int listen_fd_count() const { return type == ServiceType::inet ? static_cast<int>(addresses.size()) : 1; }
    // A service is identified by its socket name and type (stock's rule).
    bool same_identity(const ServicePlan& other) const { return name == other.name && type == other.type; }
    // Same sockets: a kept service keeps its listen descriptors when true.
    bool same_listeners(const ServicePlan& other) const;
};

struct MasterSettings {
    std::string config_dir;
    std::string queue_directory;
    std::string data_directory;
    std::string daemon_directory;
    std::string pid_file;  // process_id_directory/master.pid, relative to queue_directory unless absolute
    std::string lock_file; // data_directory/master.lock
    std::string mail_owner;
    uid_t owner_uid = 0;
    gid_t owner_gid = 0;
    int process_limit = 100; // default_process_limit: minimum listen backlog
    std::string inet_interfaces;
    std::string inet_protocols;
    std::vector<std::string> environment; // children's, without GENERATION
};

struct MasterPlan {
    MasterSettings settings;
    std::vector<ServicePlan> services;
    std::vector<std::string> warnings; // to log as "warning: ..."
    std::vector<std::string> notes;    // to log as info
};

struct PlanOptions {
    std::string program = "master"; // names the pid and lock files, as stock's var_procname
    bool detached = true;           // false: master runs with -d
    bool verbose = false;
    std::vector<std::string> environment; // master's own environment ("NAME=value")
    // Whether to look up mail_owner (tests without the postfix account: false).
    bool lookup_owner = true;
};

// Reads nothing from disk but the passwd database and the resolver: config
// and master_cf are already parsed. Throws ConfigError with stock's text.
MasterPlan build_master_plan(const Config& config, const MasterCf& master_cf, const PlanOptions& options);

// Loads DIR/main.cf and DIR/master.cf and builds the plan (ConfigError on
// any problem, text as stock's fatal message).
MasterPlan load_master_plan(const std::string& config_dir, const PlanOptions& options);

struct PlanDiff {
    std::vector<std::size_t> kept;    // indexes into the new plan's services, also in the old one
    std::vector<std::size_t> added;   // indexes into the new plan's services
    std::vector<std::size_t> removed; // indexes into the old plan's services
};

PlanDiff diff_plans(const std::vector<ServicePlan>& old_services, const std::vector<ServicePlan>& new_services);

} // namespace psm::master
