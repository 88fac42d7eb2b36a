// Tests for passing descriptors over UNIX-domain sockets (send_fd/recv_fd) and UniqueFd.
#include "psm/util/fd_passing.hpp"
#include "psm/util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace {

struct Pair {
    psm::UniqueFd a, b;
    explicit Pair(int flags = 0) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | flags, 0, sv) == 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

bool same_file(int x, int y) {
    struct stat sx, sy;
    REQUIRE(::fstat(x, &sx) == 0);
    REQUIRE(::fstat(y, &sy) == 0);
    return sx.st_dev == sy.st_dev && sx.st_ino == sy.st_ino;
}

int open_fd_count() {
    int n = 0;
    for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) >= 0;
}

} // namespace

TEST_CASE("a passed descriptor refers to the same file, in both directions", "[fd_passing]") {
    Pair sock;
    Pair payload; // any socket will do as the thing being passed
    for (int dir = 0; dir < 2; ++dir) {
        int from = dir == 0 ? sock.a.get() : sock.b.get();
        int to = dir == 0 ? sock.b.get() : sock.a.get();
        REQUIRE(psm::send_fd(from, payload.a.get()) == 0);
        psm::UniqueFd got;
        REQUIRE(psm::recv_fd(to, got) == 0);
        REQUIRE(got);
        CHECK(got.get() != payload.a.get());
        CHECK(same_file(got.get(), payload.a.get()));
        CHECK((::fcntl(got.get(), F_GETFD) & FD_CLOEXEC) != 0);
        // Data written through the received copy arrives at the other end.
        REQUIRE(::write(got.get(), "x", 1) == 1);
        char c = 0;
        REQUIRE(::read(payload.b.get(), &c, 1) == 1);
        CHECK(c == 'x');
    }
}

TEST_CASE("the wire carries exactly one 0x00 data byte", "[fd_passing]") {
    Pair sock;
    REQUIRE(psm::send_fd(sock.a.get(), STDIN_FILENO) == 0);
    char buf[4] = {1, 1, 1, 1};
    // A plain read sees the data byte (and the descriptor is discarded).
    CHECK(::recv(sock.b.get(), buf, sizeof(buf), MSG_DONTWAIT) == 1);
    CHECK(buf[0] == 0);
}

TEST_CASE("a trailer follows the data byte in the same send, and the receiver reads it after the descriptor",
          "[fd_passing]") {
    Pair sock;
    Pair payload;
    const std::string attrs("client_address\0"
                            "127.0.0.1\0\0",
                            27);
    REQUIRE(psm::send_fd(sock.a.get(), payload.a.get(), attrs) == 0);
    // One recvmsg() of one byte, as stock's unix_recv_fd: the descriptor
    // comes with the first byte, the rest stays in the stream.
    psm::UniqueFd got;
    REQUIRE(psm::recv_fd(sock.b.get(), got) == 0);
    CHECK(same_file(got.get(), payload.a.get()));
    char buf[64];
    REQUIRE(::recv(sock.b.get(), buf, sizeof(buf), MSG_DONTWAIT) == static_cast<ssize_t>(attrs.size()));
    CHECK(std::string(buf, attrs.size()) == attrs);
    // Nothing else: no second descriptor, no second data byte.
    CHECK(::recv(sock.b.get(), buf, sizeof(buf), MSG_DONTWAIT) < 0);
    CHECK(errno == EAGAIN);
}

TEST_CASE("a trailer the socket buffer cannot take at once is EAGAIN", "[fd_passing]") {
    Pair sock(SOCK_NONBLOCK);
    int size = 4096;
    REQUIRE(::setsockopt(sock.a.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == 0);
    const std::string big(1 << 20, 'x');
    CHECK(psm::send_fd(sock.a.get(), STDIN_FILENO, big) == EAGAIN);
    // The receiver gets the descriptor and what fitted, never all of it.
    psm::UniqueFd got;
    CHECK(psm::recv_fd(sock.b.get(), got) == 0);
    std::string rest(big.size(), '\0');
    CHECK(::recv(sock.b.get(), rest.data(), rest.size(), MSG_DONTWAIT) < static_cast<ssize_t>(big.size()));
}

TEST_CASE("would-block is EAGAIN on a non-blocking socket", "[fd_passing]") {
    Pair sock(SOCK_NONBLOCK);
    psm::UniqueFd got;
    CHECK(psm::recv_fd(sock.b.get(), got) == EAGAIN);
    CHECK_FALSE(got);
    // Fill the send buffer until sendmsg would block (bounded).
    int rc = 0;
    for (int i = 0; i < 100000 && rc == 0; ++i)
        rc = psm::send_fd(sock.a.get(), STDIN_FILENO);
    CHECK(rc == EAGAIN);
}

TEST_CASE("missing or odd control data is rejected, EOF is ENOMSG", "[fd_passing]") {
    Pair sock;
    psm::UniqueFd got;
    // A data byte without a descriptor.
    REQUIRE(::write(sock.a.get(), "", 1) == 1);
    CHECK(psm::recv_fd(sock.b.get(), got) == EBADMSG);
    CHECK_FALSE(got);

    // Credentials instead of rights.
    int on = 1;
    REQUIRE(::setsockopt(sock.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0);
    union {
        cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(ucred))];
    } control;
    std::memset(&control, 0, sizeof(control));
    char data = 0;
    iovec iov{};
    iov.iov_base = &data;
    iov.iov_len = 1;
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof(control.bytes);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(ucred));
    ucred cred{};
    cred.pid = ::getpid();
    cred.uid = ::getuid();
    cred.gid = ::getgid();
    std::memcpy(CMSG_DATA(c), &cred, sizeof(cred));
    REQUIRE(::sendmsg(sock.a.get(), &msg, 0) == 1);
    CHECK(psm::recv_fd(sock.b.get(), got) == EBADMSG);

    // The peer closes without sending anything.
    sock.a.reset();
    CHECK(psm::recv_fd(sock.b.get(), got) == ENOMSG);
}

TEST_CASE("extra descriptors are closed, the first one kept", "[fd_passing]") {
    Pair sock;
    Pair p1, p2;
    int fds[2] = {p1.a.get(), p2.a.get()};
    union {
        cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(fds))];
    } control;
    std::memset(&control, 0, sizeof(control));
    char data = 0;
    iovec iov{};
    iov.iov_base = &data;
    iov.iov_len = 1;
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof(control.bytes);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(fds));
    std::memcpy(CMSG_DATA(c), fds, sizeof(fds));
    REQUIRE(::sendmsg(sock.a.get(), &msg, 0) == 1);

    int before = open_fd_count();
    psm::UniqueFd got;
    REQUIRE(psm::recv_fd(sock.b.get(), got) == 0);
    CHECK(same_file(got.get(), p1.a.get()));
    CHECK(open_fd_count() == before + 1); // the second one was closed
}

TEST_CASE("UniqueFd owns, moves, releases and resets", "[fd_passing]") {
    int fd = ::dup(0);
    REQUIRE(fd >= 0);
    {
        psm::UniqueFd a(fd);
        psm::UniqueFd b(std::move(a));
        CHECK_FALSE(a);
        CHECK(b.get() == fd);
        psm::UniqueFd c;
        c = std::move(b);
        CHECK(is_open(fd));
    }
    CHECK_FALSE(is_open(fd));
    psm::UniqueFd d(::dup(0));
    int raw = d.release();
    CHECK_FALSE(d);
    CHECK(is_open(raw));
    d.reset(raw);
    d.reset();
    CHECK_FALSE(is_open(raw));
}
