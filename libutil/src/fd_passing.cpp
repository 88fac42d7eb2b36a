// sendmsg/recvmsg with SCM_RIGHTS: one data byte, one descriptor.
#include "psm/util/fd_passing.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace psm {

namespace {

// Room for a few descriptors, so that a peer sending more than one is noticed
// and the extras are closed instead of leaking into the process.
constexpr int kMaxFds = 8;

union ControlBuffer {
    cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(int) * kMaxFds)];
};

} // namespace

int send_fd(int sock, int fd_to_send, std::string_view trailer) {
    union {
        cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    std::memset(&control, 0, sizeof(control));

    char data = 0;
    iovec iov[2]{};
    iov[0].iov_base = &data;
    iov[0].iov_len = 1;
    iov[1].iov_base = const_cast<char*>(trailer.data());
    iov[1].iov_len = trailer.size();

    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = trailer.empty() ? 1 : 2;
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int));

    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd_to_send, sizeof(int));

    bool retried = false;
    for (;;) {
        const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n >= 0) return static_cast<std::size_t>(n) == 1 + trailer.size() ? 0 : EAGAIN;
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EPIPE || err == ECONNRESET || err == EBADF || retried)
            return err;
        retried = true;
        msg.msg_controllen = CMSG_LEN(sizeof(int));
    }
}

int recv_fd(int sock, UniqueFd& out) {
    ControlBuffer control;
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

    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno;

    // Take ownership of every descriptor that arrived before judging.
    std::vector<UniqueFd> fds;
    bool odd = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(sizeof(int))) {
            odd = true;
            continue;
        }
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds.emplace_back(fd);
        }
    }
    if (n == 0 && fds.empty()) return ENOMSG;
    if (n != 1 || odd || fds.empty()) return EBADMSG;
    out = std::move(fds.front());
    return 0;
}

} // namespace psm
