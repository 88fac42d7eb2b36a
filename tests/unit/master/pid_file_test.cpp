// Lock files: stock's 33-byte format, exclusive locks, master -t.
#include <catch2/catch.hpp>

#include "pid_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace psm::master;

namespace {

std::string temp_path() {
    char tmpl[] = "/tmp/psm-pidtest-XXXXXX";
    int fd = ::mkstemp(tmpl);
    ::close(fd);
    ::unlink(tmpl);
    return tmpl;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("pid file text: right-aligned in 32 columns plus newline", "[master][pid_file]") {
    CHECK(pid_file_text(25237) == std::string(27, ' ') + "25237\n");
    CHECK(pid_file_text(25237).size() == 33);
    CHECK(pid_file_text(1) == std::string(31, ' ') + "1\n");
}

TEST_CASE("open_lock: exclusive, written, and seen as held by master -t", "[master][pid_file]") {
    const std::string path = temp_path();
    CHECK_FALSE(lock_is_held(path)); // no file: no master
    CHECK(::access(path.c_str(), F_OK) < 0);
    std::string why;
    psm::UniqueFd fd = open_lock(path, why);
    REQUIRE(fd);
    REQUIRE(write_pid(fd.get(), 4242));
    CHECK(read_file(path) == pid_file_text(4242));
    // Another open file description cannot take it (flock is per description).
    std::string why2;
    CHECK_FALSE(open_lock(path, why2));
    CHECK(why2 == "unable to set exclusive lock: Resource temporarily unavailable");
    CHECK(lock_is_held(path));
    fd.reset();
    CHECK_FALSE(lock_is_held(path));
    ::unlink(path.c_str());
    CHECK_FALSE(open_lock("/nonexistent-dir/master.pid", why));
    CHECK(why == "cannot open file: No such file or directory");
}
