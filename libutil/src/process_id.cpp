// process_id(): getpid() cached per process, reset by fork.
#include "psm/util/process_id.hpp"

#include <atomic>

#include <pthread.h>
#include <unistd.h>

namespace psm {

namespace {

std::atomic<pid_t> cached{0};

void forget_in_child() { cached.store(0, std::memory_order_relaxed); }

// Registered before main() runs, so no fork can come first.
const int registered = ::pthread_atfork(nullptr, nullptr, forget_in_child);

} // namespace

pid_t process_id() {
    (void)registered;
    pid_t pid = cached.load(std::memory_order_relaxed);
    if (pid == 0) {
        pid = ::getpid();
        cached.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

} // namespace psm
