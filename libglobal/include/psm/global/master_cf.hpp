// master.cf as stock master(8) reads it: logical lines of 8+ fields
// (service, type, private, unpriv, chroot, wakeup, maxproc, command +
// args), "-" defaults, {...} arguments, master_service_disable, duplicate
// entries. Every syntax error is a ConfigError worded as stock master's
// fatal text: "PATH: line N: REASON".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "psm/global/main_cf.hpp"

namespace psm {

enum class ServiceType { inet, unix_stream, unix_dgram, fifo, pass };

// "inet", "unix", "unix-dgram", "fifo", "pass".
std::string_view service_type_name(ServiceType type);

struct MasterService {
    std::string name; // field 1 as written: "smtp", "127.0.0.1:10025", "[::1]:25", "dnsblog"
    ServiceType type = ServiceType::unix_stream;
    bool private_service = true;
    bool unprivileged = true;
    bool chroot = false;
    int wakeup = 0;                  // seconds; 0 = no wakeup
    bool wakeup_conditional = false; // "N?": only after the first process was spawned
    int max_proc = 0;                // 0 = no limit
    std::string command;             // field 8 as written (looked up in daemon_directory)
    // Everything after the command, in order, {...} braces removed: what
    // master appends to the child's argv.
    std::vector<std::string> args;
    // The "-o name=value" pairs among the leading options of args, split
    // like the child does (blanks around name and value trimmed).
    std::vector<NameValue> overrides;
    // args without those -o pairs, in order.
    std::vector<std::string> other_args;
    // inet: host part without brackets ("" = every inet_interfaces address)
    // and port/service; other types: socket path relative to
    // queue_directory, "private/NAME" or "public/NAME".
    std::string host;
    std::string port;
    std::string socket_path;
    std::string file;
    int line = 0; // first line of the entry
};

struct MasterCf {
    // In file order, disabled services left out; a duplicate (same name
    // and type) replaces the earlier entry in place.
    std::vector<MasterService> services;
    // Stock's warnings, to be logged by the caller, e.g.
    // "duplicate master.cf entry for service \"x\" (private/x) -- using the last entry".
    std::vector<std::string> warnings;
    // Stock's info lines, e.g.
    // "PATH: line 3: using backwards-compatible default setting chroot=y".
    std::vector<std::string> notes;
};

// Uses default_process_limit (maxproc "-"), compatibility_level (chroot
// "-") and master_service_disable from config. Throws ConfigError.
MasterCf parse_master_cf(std::string_view text, std::string_view path, const Config& config);

// Throws ConfigError "open PATH: REASON" when the file can't be read.
MasterCf read_master_cf(const std::string& path, const Config& config);

} // namespace psm
