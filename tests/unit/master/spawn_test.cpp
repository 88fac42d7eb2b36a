// fork/exec of a child: descriptors 3-6 in place (also when the sources sit in that range), argv[0], environment, cwd.
#include <catch2/catch.hpp>

#include "spawn.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace psm::master;

namespace {

std::string inode_of(int fd) {
    struct stat st;
    REQUIRE(::fstat(fd, &st) == 0);
    return std::to_string(st.st_ino);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

int wait_for(pid_t pid) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

} // namespace

TEST_CASE("spawn: protocol descriptors, argv[0] as written, exact environment", "[master][spawn]") {
    char out_tmpl[] = "/tmp/psm-spawn-XXXXXX";
    int out_fd = ::mkstemp(out_tmpl);
    REQUIRE(out_fd >= 0);
    ::close(out_fd);
    const std::string out = out_tmpl;

    int flow[2], status[2], listen[2];
    REQUIRE(::pipe2(flow, O_CLOEXEC | O_NONBLOCK) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, status) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, listen) == 0);
    // Put a source right on a target number that another source needs
    // (the listen socket on 3, where the flow pipe must go).
    int moved = ::fcntl(listen[0], F_DUPFD_CLOEXEC, 100);
    const int saved3 = ::fcntl(3, F_DUPFD_CLOEXEC, 200); // whatever the test runner has there
    REQUIRE(::dup3(moved, 3, O_CLOEXEC) == 3);
    ::close(moved);

    SpawnRequest r;
    r.path = "/bin/sh";
    r.argv = {"mydaemon", "-c",
              "{ echo \"$0\"; for fd in 3 4 5 6; do stat -L -c %i /proc/$$/fd/$fd; done;"
              " env | sort | tr '\\n' ' '; echo; } > " +
                  out};
    r.env = {"GENERATION=7", "MAIL_CONFIG=/etc/x"};
    r.flow_read = flow[0];
    r.flow_write = flow[1];
    r.status = status[1];
    r.listen = {3};
    pid_t pid = spawn_child(r);
    REQUIRE(pid > 0);
    int st = wait_for(pid);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    std::istringstream lines(read_file(out));
    std::string argv0, i3, i4, i5, i6, env;
    std::getline(lines, argv0);
    std::getline(lines, i3);
    std::getline(lines, i4);
    std::getline(lines, i5);
    std::getline(lines, i6);
    std::getline(lines, env);
    CHECK(argv0 == "mydaemon");
    CHECK(i3 == inode_of(flow[0]));
    CHECK(i4 == inode_of(flow[1]));
    CHECK(i5 == inode_of(status[1]));
    CHECK(i6 == inode_of(3)); // the listen socket that sat on fd 3
    // sh adds PWD (and dash nothing else) to what it was given.
    CHECK(env.find("GENERATION=7 ") != std::string::npos);
    CHECK(env.find("MAIL_CONFIG=/etc/x ") != std::string::npos);
    CHECK(env.find("HOME=") == std::string::npos);

    ::dup3(saved3, 3, 0);
    ::close(saved3);
    for (int fd : {flow[0], flow[1], status[0], status[1], listen[1]})
        ::close(fd);
    ::unlink(out.c_str());
}

TEST_CASE("spawn: a failed exec exits 1 (a bad start-up for master)", "[master][spawn]") {
    SpawnRequest r;
    r.path = "/nonexistent/daemon";
    r.argv = {"daemon"};
    int flow[2], status[2];
    REQUIRE(::pipe2(flow, O_CLOEXEC) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, status) == 0);
    r.flow_read = flow[0];
    r.flow_write = flow[1];
    r.status = status[1];
    pid_t pid = spawn_child(r);
    REQUIRE(pid > 0);
    int st = wait_for(pid);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 1);
    for (int fd : {flow[0], flow[1], status[0], status[1]})
        ::close(fd);
}
