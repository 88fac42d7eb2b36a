// STARTTLS: the tlsproxy exchange (starttls.hpp) and the session's part -
// pause the engine, run the exchange, then either send the 220 and swap the
// client socket for the plaintext stream from tlsproxy (buffered client
// input is discarded, the engine forgets HELO and sender), or answer 454 and
// go on in plaintext.
#include "starttls.hpp"

#include "session_parts.hpp"

#include "psm/global/attr.hpp"
#include "psm/global/attr_asio.hpp"
#include "psm/util/fd_passing.hpp"
#include "psm/util/log.hpp"
#include "psm/util/unique_fd.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace psm::postscreen {

namespace {

constexpr int kRoleServer = 1; // flags bit: server-side TLS

// One exchange; owns the tlsproxy socket until it is handed to the caller.
class Exchange : public std::enable_shared_from_this<Exchange> {
public:
    Exchange(boost::asio::io_context& io, std::string service, std::string request, UniqueFd client,
             TlsproxyRequest::Done done)
        : io_(io), sock_(io), timer_(io), service_(std::move(service)), request_(std::move(request)),
          client_(std::move(client)), done_(std::move(done)) {}

    void start() {
        sockaddr_un sun{};
        int error = 0;
        UniqueFd fd;
        if (service_.size() >= sizeof(sun.sun_path)) {
            error = ENAMETOOLONG;
        } else {
            fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (!fd) error = errno;
        }
        if (error == 0) {
            sun.sun_family = AF_UNIX;
            std::memcpy(sun.sun_path, service_.data(), service_.size());
            // A UNIX-domain connect completes or fails at once.
            int rc;
            do
                rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun));
            while (rc < 0 && errno == EINTR);
            if (rc < 0) error = errno;
        }
        if (error != 0) {
            msg_warn("connect to %s service: %s", service_.c_str(), std::strerror(error));
            return fail_later();
        }
        boost::system::error_code ec;
        sock_.assign(boost::asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), fd.release(), ec);
        if (ec) {
            msg_warn("connect to %s service: %s", service_.c_str(), ec.message().c_str());
            return fail_later();
        }
        read_announcement();
    }

private:
    // The attribute reader's own warning for a list cut short or malformed
    // (as stock's attr_scan logs it before the caller's warning).
    static void log_read_problem(const AttrReadResult& r) {
        if (!r && r.started && r.error != boost::asio::error::timed_out && !r.warning.empty())
            msg_warn("%s", r.warning.c_str());
    }

    void read_announcement() {
        async_attr_read(sock_, service_, kTlsproxyReplyTimeout, [self = shared_from_this()](AttrReadResult r) {
            // Stock 3.7 takes a connection closed before the first byte for
            // an empty list that satisfies the scan; the request that
            // follows then fails ("error sending request ...: Broken pipe").
            if (r.error == boost::asio::error::eof && !r.started) return self->send_request({});
            log_read_problem(r);
            AttrScanResult scan;
            if (r)
                scan = attr_scan(r.attrs, self->service_, kAttrFlagStrict,
                                 {attr::recv_streq("protocol", "tlsproxy_protocol")});
            if (!r || scan.conversions != 1 || !scan.warning.empty()) {
                // Stock's %m (checked against stock 3.7): after a timeout
                // its non-blocking read's EAGAIN; for a list that is not
                // the announcement "Application error"; else the read's
                // system error.
                const bool timeout = r.error == boost::asio::error::timed_out;
                std::string why = "Application error";
                if (timeout)
                    why = std::strerror(EAGAIN);
                else if (r.error && r.error.category() == boost::system::system_category())
                    why = std::strerror(r.error.value());
                msg_warn("%s receiving %s attribute from %s service: %s", timeout ? "timeout" : "problem", "protocol",
                         self->service_.c_str(), why.c_str());
                return self->fail();
            }
            self->send_request(std::move(r.rest));
        });
    }

    void send_request(std::string pending) {
        // A fresh socket's buffer takes the ~80 bytes at once (stock flushes
        // them in one write as well).
        ssize_t n;
        do
            n = ::send(sock_.native_handle(), request_.data(), request_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n != static_cast<ssize_t>(request_.size())) {
            msg_warn("error sending request to %s service: %s", service_.c_str(),
                     std::strerror(n < 0 ? errno : EAGAIN));
            return fail();
        }
        read_status(std::move(pending));
    }

    void read_status(std::string pending) {
        AttrReadOptions options;
        options.pending = std::move(pending);
        async_attr_read(
            sock_, service_, kTlsproxyReplyTimeout,
            [self = shared_from_this()](AttrReadResult r) {
                int status = 0;
                log_read_problem(r);
                AttrScanResult scan;
                if (r) scan = attr_scan(r.attrs, self->service_, kAttrFlagStrict, {attr::recv_int("status", status)});
                if (!r || scan.conversions != 1 || status == 0) {
                    msg_warn("%s receiving status from %s service",
                             r.error == boost::asio::error::timed_out ? "timeout" : "problem", self->service_.c_str());
                    return self->fail();
                }
                self->pass_client(false);
            },
            std::move(options));
    }

    void pass_client(bool retried) {
        const int err = send_fd(sock_.native_handle(), client_.get());
        if (err == EAGAIN && !retried) {
            // Wait (bounded) until the socket takes it.
            timer_.expires_after(kTlsproxyReplyTimeout);
            timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
                if (ec) return;
                boost::system::error_code ignored;
                self->sock_.cancel(ignored);
            });
            sock_.async_wait(Socket::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
                self->timer_.cancel();
                if (ec) {
                    msg_warn("%s sending file handle to %s service",
                             ec == boost::asio::error::operation_aborted ? "timeout" : "problem",
                             self->service_.c_str());
                    return self->fail();
                }
                self->pass_client(true);
            });
            return;
        }
        if (err != 0) {
            msg_warn("problem sending file handle to %s service", service_.c_str());
            return fail();
        }
        client_.reset();
        auto done = std::move(done_);
        done(true, std::move(sock_));
    }

    void fail() {
        boost::system::error_code ignored;
        sock_.close(ignored);
        auto done = std::move(done_);
        done(false, Socket(io_));
    }

    // The caller may not be re-entered from start().
    void fail_later() {
        boost::asio::post(io_, [self = shared_from_this()] { self->fail(); });
    }

    using Socket = TlsproxyRequest::Socket;
    boost::asio::io_context& io_;
    Socket sock_;
    boost::asio::steady_timer timer_;
    std::string service_;
    std::string request_;
    UniqueFd client_;
    TlsproxyRequest::Done done_;
};

} // namespace

std::string tlsproxy_request(const std::string& remote_endpoint, long timeout) {
    const int t = static_cast<int>(timeout);
    // 3.7 sends the timeout twice (handshake and session), then the
    // session-cache id.
    return attr_encode({attr::send_str("remote_endpoint", remote_endpoint), attr::send_int("flags", kRoleServer),
                        attr::send_int("timeout", t), attr::send_int("timeout", t),
                        attr::send_str("serverid", "smtpd")});
}

void TlsproxyRequest::start(boost::asio::io_context& io, const std::string& service, const std::string& remote_endpoint,
                            long timeout, int client_fd, Done done) {
    UniqueFd copy(::fcntl(client_fd, F_DUPFD_CLOEXEC, 0));
    auto exchange = std::make_shared<Exchange>(io, service, tlsproxy_request(remote_endpoint, timeout), std::move(copy),
                                               std::move(done));
    exchange->start();
}

// ---------------------------------------------------------------- the session

void Session::start_tls() {
    // Nothing else may happen to the session meanwhile: no command timer, no
    // reading (the exchange has its own timeouts).
    timer_.cancel();
    smtp_->reader.stop();
    TlsproxyRequest::start(server_.io(), server_.settings().tlsproxy_service, addr_port(),
                           server_.engine_settings().command_time_limit_normal, client_fd(),
                           [this, keep = shared_from_this()](bool ok, TlsproxyRequest::Socket plaintext) {
                               tls_finished(ok, std::move(plaintext));
                           });
}

void Session::tls_finished(bool ok, Socket plaintext) {
    if (phase_ != Phase::smtp || client_fd() < 0) return; // closed meanwhile (process exit)
    if (!ok) {
        if (!send(smtp_->engine.starttls_unavailable())) return hangup();
    } else {
        // The 220 goes to the client directly; from now on it talks TLS to
        // tlsproxy and we talk plaintext to tlsproxy.
        send(smtp_->engine.starttls_ready());
        unsent_.reset();
        boost::system::error_code ignored;
        socket_.close(ignored);
        socket_ = std::move(plaintext);
        // Discard what the client sent after STARTTLS: a fresh reader.
        std::destroy_at(&smtp_->reader);
        std::construct_at(&smtp_->reader, smtp_->engine.line_length_limit());
    }
    arm_command_timer();
    read_commands();
}

} // namespace psm::postscreen
