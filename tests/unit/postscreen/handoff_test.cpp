// The hand-off to smtpd: descriptor plus the four attributes, byte-exact.
#include "handoff.hpp"

#include "psm/util/fd_passing.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

using namespace psm::postscreen;

namespace {

struct UnixListener {
    std::string dir, path;
    int fd = -1;
    UnixListener() {
        char tmpl[] = "/tmp/psm-handoff-XXXXXX";
        dir = ::mkdtemp(tmpl);
        path = dir + "/smtpd";
        fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strcpy(sun.sun_path, path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) == 0);
        REQUIRE(::listen(fd, 5) == 0);
    }
    ~UnixListener() {
        ::close(fd);
        ::unlink(path.c_str());
        ::rmdir(dir.c_str());
    }
};

} // namespace

TEST_CASE("handoff attributes are stock's 4 attr0 strings") {
    Endpoint ep;
    ep.client_addr = "127.0.0.1";
    ep.client_port = 43104;
    ep.server_addr = "127.0.0.1";
    ep.server_port = 41025;
    // Adjacent literals keep "\0" apart from the digits that follow it.
    const std::string expected("client_address\0" "127.0.0.1\0" "client_port\0" "43104\0"
                               "server_address\0" "127.0.0.1\0" "server_port\0" "41025\0" "\0",
                               87);
    CHECK(handoff_attributes(ep) == expected);
}

TEST_CASE("pass_connection sends the client socket and the endpoints") {
    UnixListener smtpd;
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    psm::UniqueFd client_end(pair[0]), our_end(pair[1]);

    Endpoint ep;
    ep.client_addr = "2001:db8::7";
    ep.client_port = 41511;
    ep.server_addr = "192.0.2.1";
    ep.server_port = 25;
    psm::UniqueFd channel;
    int error = -1;
    REQUIRE(pass_connection(smtpd.path, our_end.get(), ep, channel, error) == HandoffResult::ok);
    CHECK(error == 0);
    REQUIRE(channel);

    psm::UniqueFd accepted(::accept(smtpd.fd, nullptr, nullptr));
    REQUIRE(accepted);
    psm::UniqueFd passed;
    REQUIRE(psm::recv_fd(accepted.get(), passed) == 0);
    char buf[512];
    ssize_t n = ::recv(accepted.get(), buf, sizeof(buf), 0);
    CHECK(std::string(buf, n) == handoff_attributes(ep));
    // The passed descriptor is the client's connection.
    REQUIRE(::write(passed.get(), "hi", 2) == 2);
    n = ::read(client_end.get(), buf, sizeof(buf));
    CHECK(std::string(buf, n) == "hi");
    // smtpd closes the channel: postscreen sees EOF.
    accepted.reset();
    n = ::read(channel.get(), buf, sizeof(buf));
    CHECK(n == 0);
}

TEST_CASE("pass_connection reports a connect failure") {
    psm::UniqueFd channel;
    int error = 0;
    CHECK(pass_connection("/nonexistent/private/smtpd", 0, Endpoint{}, channel, error) ==
          HandoffResult::connect_failed);
    CHECK(error == ENOENT);
    CHECK_FALSE(channel);
}
