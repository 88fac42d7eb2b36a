// master's listen sockets, created as stock master creates them: as the
// mail_owner (effective ids), non-blocking, close-on-exec, backlog
// max(maxproc, default_process_limit); inet with SO_REUSEADDR (and
// IPV6_V6ONLY for IPv6); unix and pass as stream sockets, unix-dgram as a
// datagram socket, all mode 0666 after removing a stale file; fifo as a
// named pipe of mode 0622 opened read-write. Paths are relative to the
// cwd (queue_directory).
#pragma once

#include "service_plan.hpp"

#include "psm/util/error.hpp"
#include "psm/util/unique_fd.hpp"

#include <vector>

namespace psm::master {

struct ListenIdentity {
    uid_t uid = 0;
    gid_t gid = 0;
    bool switch_ids = false; // false in unit tests run without root
};

// A listener that could not be opened: what() is stock's fatal text ("bind
// 127.0.0.1 port 25: Address already in use", "bind: private/x: No such
// file or directory", ...), error the errno value behind it.
class ListenError : public ConfigError {
public:
    ListenError(const std::string& text, int error) : ConfigError(text), error_(error) {}
    int error() const { return error_; }

private:
    int error_;
};

// Opens listener number `index` of a service (inet: its index-th address;
// other types have one). Throws ListenError.
UniqueFd open_listener(const ServicePlan& service, std::size_t index, int backlog, const ListenIdentity& who);

// Opens every listener of a service. Throws ListenError; nothing stays
// open on error.
std::vector<UniqueFd> open_listeners(const ServicePlan& service, int backlog, const ListenIdentity& who);

} // namespace psm::master
