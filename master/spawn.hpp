// fork + exec of one child with the descriptors of the master <-> child
// protocol (protocols.md §5.1): 3/4 the flow-control pipe, 5 the service's
// status channel, 6.. the listen sockets; 0-2 inherited; nothing else.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace psm::master {

struct SpawnRequest {
    std::string path;              // executable
    std::vector<std::string> argv; // argv[0] as written in master.cf
    std::vector<std::string> env;  // complete environment (GENERATION included)
    int flow_read = -1;            // becomes fd 3
    int flow_write = -1;           // becomes fd 4
    int status = -1;               // becomes fd 5
    std::vector<int> listen;       // become fds 6, 7, ...
};

// Returns the child's pid, or -1 with errno set when fork() failed. In the
// child, a failed exec logs stock's "fatal: master_spawn: exec PATH: REASON"
// and exits with status 1 (master then sees a bad start-up).
pid_t spawn_child(const SpawnRequest& request);

} // namespace psm::master
