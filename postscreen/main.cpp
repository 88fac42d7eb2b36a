// postscreen(8): psmaster's zombie blocker, a drop-in for stock Postfix 3.7
// postscreen. One process and one event loop serve every client; see
// server.hpp for the daemon and proto/man/postscreen.8 for the manual.
#include "server.hpp"

#include "psm/global/daemon.hpp"
#include "psm/util/signals.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <memory>

namespace {

// One descriptor per client: allow as many as the hard limit permits.
void raise_open_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

} // namespace

int main(int argc, char** argv) {
    psm::ignore_sigpipe();
    raise_open_limit();
    // As stock: leave master's process group, so that master's SIGTERM to
    // its group cannot interrupt a cache update; postscreen exits when the
    // status channel (fd 5) reports EOF instead. Fails harmlessly when we
    // already lead a group (stand-alone runs from a shell).
    (void)::setsid();
    psm::DaemonSpec spec;
    spec.kind = psm::DaemonSpec::Kind::event;
    spec.process_limit = psm::DaemonSpec::Limit::one; // stock: "requires a process limit of 1"
    spec.unlimited_use = true;                          // stock: max_use does not apply
    return psm::daemon_main(argc, argv, spec,
                            [](psm::DaemonHost& host) { return std::make_unique<psm::postscreen::Server>(host); });
}
