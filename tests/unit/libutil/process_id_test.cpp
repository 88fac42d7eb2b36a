// process_id(): the cached process id is the caller's, in a forked child too
// (a draining postscreen logs from its forked copy).
#include "psm/util/process_id.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

TEST_CASE("process id: the caller's, and the child's own after fork") {
    REQUIRE(psm::process_id() == ::getpid());
    REQUIRE(psm::process_id() == ::getpid()); // cached: still right
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        pid_t seen = psm::process_id();
        pid_t real = ::getpid();
        pid_t both[2] = {seen, real};
        (void)!::write(pipe_fds[1], both, sizeof both);
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    pid_t both[2] = {0, 0};
    CHECK(::read(pipe_fds[0], both, sizeof both) == static_cast<ssize_t>(sizeof both));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(both[1] == child);
    CHECK(both[0] == child);
    CHECK(psm::process_id() == ::getpid()); // the parent's is unchanged
}
