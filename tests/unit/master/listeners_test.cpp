// Listen sockets as stock master makes them: modes, non-blocking, close-on-exec, backlog, fifo, errors.
#include <catch2/catch.hpp>

#include "listeners.hpp"

#include "psm/util/error.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace psm;
using namespace psm::master;

namespace {

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/psm-listen-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

ServicePlan local(ServiceType type, const std::string& path) {
    ServicePlan p;
    p.type = type;
    p.name = path;
    return p;
}

mode_t mode_of(const std::string& path) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode;
}

void check_flags(int fd) {
    CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
}

} // namespace

TEST_CASE("unix, pass and unix-dgram listeners: mode 0666, stale file replaced", "[master][listeners]") {
    TempDir dir;
    ListenIdentity who; // no id switching in unit tests
    const std::string path = dir.path + "/echo";
    { std::ofstream(path) << "stale"; }
    auto fds = open_listeners(local(ServiceType::unix_stream, path), 100, who);
    REQUIRE(fds.size() == 1);
    check_flags(fds[0].get());
    CHECK(S_ISSOCK(mode_of(path)));
    CHECK((mode_of(path) & 07777) == 0666);
    int type = 0;
    socklen_t len = sizeof(type);
    ::getsockopt(fds[0].get(), SOL_SOCKET, SO_TYPE, &type, &len);
    CHECK(type == SOCK_STREAM);

    auto pass = open_listeners(local(ServiceType::pass, dir.path + "/smtpd"), 100, who);
    CHECK((mode_of(dir.path + "/smtpd") & 07777) == 0666);
    auto dgram = open_listeners(local(ServiceType::unix_dgram, dir.path + "/postlog"), 100, who);
    ::getsockopt(dgram[0].get(), SOL_SOCKET, SO_TYPE, &type, &len);
    CHECK(type == SOCK_DGRAM);
    check_flags(dgram[0].get());
}

TEST_CASE("fifo listener: mode 0622, opened read-write, old data skipped", "[master][listeners]") {
    TempDir dir;
    const std::string path = dir.path + "/pickup";
    auto fds = open_listeners(local(ServiceType::fifo, path), 100, ListenIdentity{});
    REQUIRE(fds.size() == 1);
    CHECK(S_ISFIFO(mode_of(path)));
    CHECK((mode_of(path) & 07777) == 0622);
    CHECK((::fcntl(fds[0].get(), F_GETFL) & O_ACCMODE) == O_RDWR);
    check_flags(fds[0].get());
}

TEST_CASE("inet listener: SO_REUSEADDR, bound address, stock error text", "[master][listeners]") {
    ServicePlan p;
    p.type = ServiceType::inet;
    p.name = "127.0.0.1:0";
    p.addresses = {*InetAddr::parse("127.0.0.1")};
    p.port = 0;
    auto fds = open_listeners(p, 100, ListenIdentity{});
    REQUIRE(fds.size() == 1);
    check_flags(fds[0].get());
    int on = 0;
    socklen_t len = sizeof(on);
    ::getsockopt(fds[0].get(), SOL_SOCKET, SO_REUSEADDR, &on, &len);
    CHECK(on != 0);
    sockaddr_in sin{};
    len = sizeof(sin);
    ::getsockname(fds[0].get(), reinterpret_cast<sockaddr*>(&sin), &len);
    const int port = ntohs(sin.sin_port);
    p.port = static_cast<std::uint16_t>(port);
    try {
        open_listeners(p, 100, ListenIdentity{});
        FAIL("bound twice");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == "bind 127.0.0.1 port " + std::to_string(port) + ": Address already in use");
    }
    // v6 sockets are IPv6-only, so that a v4 socket can share the port.
    ServicePlan v6 = p;
    v6.addresses = {*InetAddr::parse("::1")};
    v6.port = 0;
    auto six = open_listeners(v6, 100, ListenIdentity{});
    ::getsockopt(six[0].get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, &len);
    CHECK(on != 0);
}

TEST_CASE("unix listener errors as stock", "[master][listeners]") {
    try {
        open_listeners(local(ServiceType::unix_stream, "/nonexistent-dir/private/x"), 100, ListenIdentity{});
        FAIL("no error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == "bind: /nonexistent-dir/private/x: No such file or directory");
    }
}
