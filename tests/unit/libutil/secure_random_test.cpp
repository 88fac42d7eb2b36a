// secure_random_u32(): varied values, and a forked child never repeats the
// numbers its parent will hand out next (its buffer is discarded).
#include "psm/util/secure_random.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <sys/wait.h>
#include <unistd.h>

TEST_CASE("secure random: values vary across many draws and buffer refills") {
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 1000; ++i)
        seen.insert(psm::secure_random_u32());
    // 1000 draws of 32 bits: a repeat is possible but rare; a stuck or
    // zeroed buffer gives far fewer distinct values.
    CHECK(seen.size() >= 998);
}

TEST_CASE("secure random: a forked child does not hand out its parent's next numbers") {
    (void)psm::secure_random_u32(); // the buffer now holds bytes still to hand out
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::uint32_t next[4];
        for (auto& v : next)
            v = psm::secure_random_u32();
        ssize_t ignored = ::write(pipe_fds[1], next, sizeof(next));
        (void)ignored;
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::uint32_t parent[4], from_child[4] = {};
    for (auto& v : parent)
        v = psm::secure_random_u32();
    REQUIRE(::read(pipe_fds[0], from_child, sizeof(from_child)) == static_cast<ssize_t>(sizeof(from_child)));
    ::close(pipe_fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    int same = 0;
    for (int i = 0; i < 4; ++i)
        same += parent[i] == from_child[i];
    CHECK(same == 0);
}
