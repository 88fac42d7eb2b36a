// pass_connection: connect, send the descriptor and the four attributes.
#include "handoff.hpp"

#include "psm/global/attr.hpp"
#include "psm/util/fd_passing.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace psm::postscreen {

std::string handoff_attributes(const Endpoint& endpoint) {
    // Written straight as attr0 bytes: one buffer, no attribute list.
    std::string out;
    out.reserve(64 + endpoint.client_addr.size() + endpoint.server_addr.size());
    Attr0Writer w(out);
    w.str("client_address", endpoint.client_addr);
    w.num("client_port", endpoint.client_port);
    w.str("server_address", endpoint.server_addr);
    w.num("server_port", endpoint.server_port);
    w.end();
    return out;
}

HandoffResult pass_connection(const std::string& service, int client_fd, const Endpoint& endpoint, UniqueFd& channel,
                              int& error) {
    sockaddr_un sun{};
    if (service.size() >= sizeof(sun.sun_path)) {
        error = ENAMETOOLONG;
        return HandoffResult::connect_failed;
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        error = errno;
        return HandoffResult::connect_failed;
    }
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, service.data(), service.size());
    // A UNIX-domain connect never waits: it succeeds, or fails at once
    // (EAGAIN when smtpd's listen queue is full), as stock's timed connect.
    int rc;
    do
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun));
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        error = errno;
        return HandoffResult::connect_failed;
    }
    // The attributes ride in the descriptor's sendmsg(): the same bytes as
    // stock's two writes, and smtpd finds them there when it wakes up.
    if (int err = send_fd(fd.get(), client_fd, handoff_attributes(endpoint)); err != 0) {
        error = err;
        return HandoffResult::pass_failed;
    }
    channel = std::move(fd);
    error = 0;
    return HandoffResult::ok;
}

} // namespace psm::postscreen
