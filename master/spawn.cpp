// fork/exec for master (see spawn.hpp). Everything the child needs is
// prepared before fork(); between fork() and exec the child only resets
// signals, moves descriptors and execs.
#include "spawn.hpp"

#include "psm/util/log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace psm::master {

namespace {

constexpr int kFlowRead = 3;
constexpr int kFlowWrite = 4;
constexpr int kStatus = 5;
constexpr int kFirstListen = 6;

std::vector<char*> c_strings(const std::vector<std::string>& in) {
    std::vector<char*> out;
    out.reserve(in.size() + 1);
    for (const std::string& s : in)
        out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// In the child: default dispositions for every caught signal (ignored ones
// stay ignored, as under stock master: SIGPIPE, SIGXFSZ), nothing blocked.
void reset_signals() {
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction old;
        if (::sigaction(sig, nullptr, &old) < 0) continue;
        if (old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL) {
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            sigemptyset(&dfl.sa_mask);
            ::sigaction(sig, &dfl, nullptr);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void child_fail(const char* what) {
    msg_fatal("master_spawn: %s: %s", what, std::strerror(errno));
}

void place_descriptors(const SpawnRequest& r) {
    std::vector<std::pair<int, int>> moves = {
        {r.flow_read, kFlowRead}, {r.flow_write, kFlowWrite}, {r.status, kStatus}};
    for (std::size_t i = 0; i < r.listen.size(); ++i)
        moves.emplace_back(r.listen[i], kFirstListen + static_cast<int>(i));
    const int highest = kFirstListen + static_cast<int>(r.listen.size()) - 1;
    // First lift every source out of the target range, then place them.
    for (auto& [from, to] : moves) {
        (void)to;
        if (from <= highest) {
            int lifted = ::fcntl(from, F_DUPFD, highest + 1);
            if (lifted < 0) child_fail("dup");
            from = lifted;
        }
    }
    for (const auto& [from, to] : moves)
        if (::dup2(from, to) < 0) child_fail("dup2");
}

} // namespace

pid_t spawn_child(const SpawnRequest& request) {
    std::vector<char*> argv = c_strings(request.argv);
    std::vector<char*> envp = c_strings(request.env);

    sigset_t all, saved;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, &saved);
    pid_t pid = ::fork();
    if (pid != 0) {
        int saved_errno = errno;
        ::sigprocmask(SIG_SETMASK, &saved, nullptr);
        errno = saved_errno;
        return pid;
    }
    reset_signals();
    place_descriptors(request);
    ::execve(request.path.c_str(), argv.data(), envp.data());
    msg_fatal("master_spawn: exec %s: %s", request.path.c_str(), std::strerror(errno));
}

} // namespace psm::master
