// The calling process's id without a system call per use: glibc no longer
// caches getpid(), and every log line and master status message carries it.
// The cached value is cleared in a forked child (pthread_atfork), so a
// process that forks to drain in the background logs its own id.
#pragma once

#include <sys/types.h>

namespace psm {

pid_t process_id();

} // namespace psm
