// dnsblog(8): psmaster's asynchronous DNSBL/DNSWL lookup service. One
// process serves stock postscreen's per-site requests and psmaster's
// weighted requests concurrently (see server.hpp, proto/man/dnsblog.8).
#include "server.hpp"

#include "psm/global/daemon.hpp"

#include <sys/resource.h>

#include <memory>

namespace {

// One descriptor per connection: allow as many as the hard limit permits.
void raise_open_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

} // namespace

int main(int argc, char** argv) {
    raise_open_limit();
    return psm::daemon_main(argc, argv, psm::dnsblog::dnsblog_spec(),
                            [](psm::DaemonHost& host) { return std::make_unique<psm::dnsblog::DnsblogDaemon>(host); });
}
