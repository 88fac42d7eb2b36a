// master's lock files, as stock: $queue_directory/pid/master.pid (path
// relative to queue_directory, the cwd) and $data_directory/master.lock,
// each holding the pid right-aligned in 32 columns plus a newline (33
// bytes) and an exclusive flock() for as long as master runs.
#pragma once

#include "psm/util/unique_fd.hpp"

#include <sys/types.h>

#include <optional>
#include <string>

namespace psm::master {

// "%*lu\n" with a width of 4 * sizeof(unsigned long): 33 bytes on x86_64.
std::string pid_file_text(pid_t pid);

// open_lock(): opens (creating with mode & ~umask) and locks exclusively
// without waiting. On failure returns an empty fd and sets why to stock's
// text: "cannot open file: REASON" or "unable to set exclusive lock: REASON".
UniqueFd open_lock(const std::string& path, std::string& why);

// Replaces the file's content with pid_file_text(pid). Returns false (errno
// set) on a write error.
bool write_pid(int fd, pid_t pid);

// master -t: true when the file exists and another process holds its lock
// (stock then exits 1). A missing file means no master and is not created;
// a file that cannot be opened counts as held, as stock's exit status 1.
bool lock_is_held(const std::string& path);

} // namespace psm::master
