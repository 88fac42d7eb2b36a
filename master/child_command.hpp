// What master hands each child on exec: the command line of protocols.md
// §5.4 (stock's flag order) and the environment of §5.5 (import_environment
// filtering, MAIL_CONFIG, MAIL_LOGTAG, POSTLOG_*, GENERATION).
#pragma once

#include "psm/global/master_cf.hpp"

#include <string>
#include <vector>

namespace psm::master {

struct ChildArgv {
    std::vector<std::string> argv;
    // Index of the "stress=" argument (after "-o") that master turns into
    // "stress=yes" while the service is overloaded; -1 when the service has
    // none (local-only, or maxproc <= 1).
    int stress_index = -1;
};

struct ArgvFlags {
    bool master_detached = true; // false: master runs with -d, children get -d
    bool verbose = false;        // master runs with -v: children get -v
    int listen_fd_count = 1;     // > 1: "-s N"
    bool local_only = true;      // unix/fifo/dgram, or inet on loopback addresses only
};

// argv[0] is the command as written in master.cf, then -l/-z, -n, -t, -d,
// -v, -u, -c, "-o stress=", -s, and the master.cf arguments (braces
// already removed by the parser).
ChildArgv build_child_argv(const MasterService& service, const ArgvFlags& flags);

struct EnvironmentSettings {
    std::string import_environment; // main.cf import_environment
    std::string config_dir;         // always exported as MAIL_CONFIG
    std::string syslog_name;        // MAIL_LOGTAG, subject to import_environment
    std::string maillog_file;       // non-empty: POSTLOG_SERVICE and POSTLOG_HOSTNAME
    std::string queue_directory;
    std::string postlog_service_name;
    std::string myhostname;
};

// The environment every child of this configuration starts from, given
// master's own environment ("NAME=value" strings), without GENERATION.
std::vector<std::string> build_child_environment(const std::vector<std::string>& current,
                                                 const EnvironmentSettings& settings);

// "GENERATION=<octal>".
std::string generation_variable(unsigned generation);

} // namespace psm::master
