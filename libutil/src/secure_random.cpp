// secure_random_u32(): getrandom(2) bytes, buffered per thread, discarded by fork.
#include "psm/util/secure_random.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <pthread.h>
#include <sys/random.h>

namespace psm {

namespace {

std::atomic<unsigned> fork_generation{0};

void after_fork_in_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

// Registered before main() runs, so no fork can come first.
const int registered = ::pthread_atfork(nullptr, nullptr, after_fork_in_child);

struct Pool {
    std::array<unsigned char, 512> bytes{};
    std::size_t used = sizeof(bytes);
    unsigned generation = 0;

    void refill() {
        std::size_t got = 0;
        while (got < bytes.size()) {
            ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                // getrandom cannot fail otherwise once the pool is
                // initialised (Linux >= 3.17, no GRND_NONBLOCK).
                std::abort();
            }
            got += static_cast<std::size_t>(n);
        }
        used = 0;
    }
};

thread_local Pool pool;

} // namespace

std::uint32_t secure_random_u32() {
    (void)registered;
    const unsigned generation = fork_generation.load(std::memory_order_relaxed);
    if (pool.generation != generation) {
        pool.generation = generation;
        pool.used = pool.bytes.size(); // the parent's bytes: never reuse them
    }
    if (pool.used + sizeof(std::uint32_t) > pool.bytes.size()) pool.refill();
    std::uint32_t value;
    std::memcpy(&value, pool.bytes.data() + pool.used, sizeof(value));
    // Each byte is handed out once.
    std::memset(pool.bytes.data() + pool.used, 0, sizeof(value));
    pool.used += sizeof(value);
    return value;
}

} // namespace psm
