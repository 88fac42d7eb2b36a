// -S (stand-alone): the daemon sees one connected socket; this relay copies
// stdin to it and its output to stdout, so that pipes, files and terminals
// work as well as an inetd-style socket.
#include "daemon_private.hpp"

#include "psm/util/log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace psm::daemon_detail {

namespace {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

// Copies from `from` to `to` until EOF, then runs at_eof.
struct Pump : std::enable_shared_from_this<Pump> {
    Descriptor& from;
    Descriptor& to;
    std::function<void()> at_eof;
    std::array<char, 8192> buf;
    Pump(Descriptor& f, Descriptor& t, std::function<void()> done) : from(f), to(t), at_eof(std::move(done)) {}

    void run() {
        from.async_read_some(asio::buffer(buf), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
            if (ec) return self->at_eof();
            asio::async_write(self->to, asio::buffer(self->buf.data(), n),
                              [self](boost::system::error_code wec, size_t) {
                                  if (wec) return self->at_eof();
                                  self->run();
                              });
        });
    }
};

struct Relay {
    Descriptor in, out, sock;
    Relay(asio::io_context& io, int in_fd, int out_fd, int sock_fd)
        : in(io, in_fd), out(io, out_fd), sock(io, sock_fd) {}
};

} // namespace

int start_stdio_relay(asio::io_context& io, std::function<void()> on_done) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) msg_fatal("socketpair: %s", std::strerror(errno));
    int in_fd = ::dup(STDIN_FILENO);
    int out_fd = ::dup(STDOUT_FILENO);
    if (in_fd < 0 || out_fd < 0) msg_fatal("dup: %s", std::strerror(errno));
    auto relay = std::make_shared<Relay>(io, in_fd, out_fd, sv[1]);
    // stdin -> daemon; at EOF, half-close so the daemon sees EOF too.
    std::make_shared<Pump>(relay->in, relay->sock, [relay] {
        ::shutdown(relay->sock.native_handle(), SHUT_WR);
    })->run();
    // daemon -> stdout; the daemon closing its end ends the session.
    std::make_shared<Pump>(relay->sock, relay->out, [relay, on_done] {
        boost::system::error_code ignored;
        relay->in.close(ignored);
        on_done();
    })->run();
    return sv[0];
}

} // namespace psm::daemon_detail
