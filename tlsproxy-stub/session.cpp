// One tlsproxy session: request, status, descriptor, handshake, relay.
#include "session.hpp"

#include "tls_errors.hpp"

#include "psm/global/attr_asio.hpp"
#include "psm/util/fd_passing.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <openssl/err.h>

#include <fcntl.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace psm::tlsproxy {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Stock logs these failures with whatever errno was left behind, which in
// practice is EAGAIN from its non-blocking reads; a deadline is ETIMEDOUT.
const char* stock_reason(bool timed_out) {
    return std::strerror(timed_out ? ETIMEDOUT : EAGAIN);
}

std::chrono::seconds clamp_timeout(int seconds) {
    return std::chrono::seconds(std::clamp(seconds, 1, 24 * 3600));
}

} // namespace

Session::Session(asio::io_context& io, const ServerContext* tls, Connection connection, const SessionPolicy& policy)
    : tls_(tls), conn_(std::move(connection)), socket_(conn_.take_socket(io)), policy_(policy), setup_timer_(io),
      io_timer_(io), cipher_(io), to_client_(policy.buffer_size), to_postscreen_(policy.buffer_size) {}

Session::~Session() = default;

void Session::start() {
    if (!socket_.is_open()) return finish();
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    async_attr_write(socket_, {attr::send_str("protocol", "tlsproxy_protocol")}, policy_.init_timeout,
                     [self = shared_from_this()](boost::system::error_code ec) {
                         if (self->phase_ == Phase::done) return;
                         if (ec) return self->finish();
                         self->read_request();
                     });
}

void Session::read_request() {
    async_attr_read(socket_, "plaintext", policy_.init_timeout,
                    [self = shared_from_this()](AttrReadResult result) { self->on_request(std::move(result)); });
}

void Session::on_request(AttrReadResult result) {
    if (phase_ == Phase::done) return;
    const bool timed_out = result.error == asio::error::timed_out;
    std::optional<Request> request;
    if (result) {
        request = scan_request(result.attrs);
    } else if (!timed_out && !result.warning.empty()) {
        msg_warn("%s", result.warning.c_str());
    }
    if (!request) {
        msg_warn("tlsp_get_request_event: receive request attributes: %s", stock_reason(timed_out));
        return finish();
    }
    request_ = std::move(*request);
    msg_info("CONNECT %s %s", direction(request_.flags), request_.remote_endpoint.c_str());
    connected_ = true;

    bool ready = false;
    switch (judge(request_)) {
    case Verdict::bad_flags:
        msg_warn("tlsp_get_request_event: bad request flags: 0x%x", static_cast<unsigned>(request_.flags));
        break;
    case Verdict::client_role:
        msg_warn("tlsp_get_request_event: the TLS client role is not supported by this tlsproxy");
        break;
    case Verdict::context_export:
        msg_warn("tlsp_get_request_event: request flag 0x%x (send TLS context) is not supported by this tlsproxy",
                 static_cast<unsigned>(kFlagSendContext));
        break;
    case Verdict::serve:
        ready = tls_ != nullptr;
        break;
    }
    send_status(ready);
}

void Session::send_status(bool ready) {
    async_attr_write(socket_, {attr::send_int("status", ready ? 1 : 0)}, policy_.init_timeout,
                     [self = shared_from_this(), ready](boost::system::error_code ec) {
                         if (self->phase_ == Phase::done) return;
                         if (ec) return self->finish();
                         if (ready)
                             self->wait_for_descriptor();
                         else
                             self->wait_for_hangup();
                     });
}

void Session::wait_for_descriptor() {
    if (!setup_timer_.armed()) {
        setup_timer_.arm(policy_.init_timeout, [weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self || self->phase_ != Phase::setup) return;
            msg_warn("tlsp_get_fd_event: receive remote SMTP peer file descriptor: %s", stock_reason(true));
            self->finish();
        });
    }
    socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
        if (self->phase_ != Phase::setup || ec == asio::error::operation_aborted) return;
        self->receive_descriptor();
    });
}

void Session::receive_descriptor() {
    UniqueFd client;
    int err = recv_fd(socket_.native_handle(), client);
    if (err == EAGAIN || err == EINTR) return wait_for_descriptor();
    setup_timer_.cancel();
    if (err) {
        // EOF or a message without a descriptor: stock reports EAGAIN.
        const bool system = err != ENOMSG && err != EBADMSG;
        msg_warn("tlsp_get_fd_event: receive remote SMTP peer file descriptor: %s",
                 system ? std::strerror(err) : stock_reason(false));
        return finish();
    }
    start_tls(std::move(client));
}

// After status=0: wait (bounded) until postscreen hangs up.
void Session::wait_for_hangup() {
    if (!setup_timer_.armed()) {
        setup_timer_.arm(policy_.init_timeout, [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->finish();
        });
    }
    socket_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                                if (self->phase_ == Phase::done) return;
                                if (ec) return self->finish();
                                self->wait_for_hangup();
                            });
}

void Session::start_tls(UniqueFd client) {
    int flags = ::fcntl(client.get(), F_GETFL);
    if (flags >= 0) ::fcntl(client.get(), F_SETFL, flags | O_NONBLOCK);
    peer_.namaddr = lowercase(request_.remote_endpoint);
    ssl_ = tls_->accept_on(client.get(), peer_);
    if (!ssl_) return finish();
    boost::system::error_code ec;
    cipher_.assign(client.release(), ec);
    if (ec) {
        msg_warn("tlsproxy: cannot watch the client socket: %s", ec.message().c_str());
        return finish();
    }
    phase_ = Phase::handshake;
    session_timeout_ = clamp_timeout(request_.session_timeout) + policy_.session_slack;
    touch();
    arm_io_timer(clamp_timeout(request_.handshake_timeout));
    pump();
}

// Drives the TLS engine: finishes the handshake, then moves bytes both
// ways as far as buffers and sockets allow, and asks for the events that
// will let it continue.
void Session::pump() {
    if (phase_ == Phase::handshake && !handshake()) return;
    if (phase_ != Phase::relay) return;
    SSL* ssl = ssl_.get();
    bool progress = false;

    int write_error = SSL_ERROR_NONE;
    while (!client_eof_ && !to_client_.empty()) {
        ERR_clear_error();
        int n = SSL_write(ssl, to_client_.data(), static_cast<int>(std::min<std::size_t>(to_client_.size(), INT_MAX)));
        if (n <= 0) {
            write_error = SSL_get_error(ssl, n);
            break;
        }
        to_client_.consume(static_cast<std::size_t>(n));
        progress = true;
    }
    int read_error = SSL_ERROR_NONE;
    if (!client_eof_) {
        if (!plain_writing_) to_postscreen_.compact();
        while (to_postscreen_.tail_size() > 0) {
            ERR_clear_error();
            int n = SSL_read(ssl, to_postscreen_.tail(), static_cast<int>(to_postscreen_.tail_size()));
            if (n <= 0) {
                read_error = SSL_get_error(ssl, n);
                break;
            }
            to_postscreen_.commit(static_cast<std::size_t>(n));
            progress = true;
        }
    }
    for (int error : {write_error, read_error}) {
        switch (error) {
        case SSL_ERROR_NONE:
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            break;
        case SSL_ERROR_ZERO_RETURN: // close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
        case SSL_ERROR_SYSCALL:     // reset or other socket error
            ERR_clear_error();
            client_eof_ = true;
            break;
        default:
            log_tls_errors();
            return finish();
        }
    }
    if (progress) touch();
    if (client_eof_) {
        to_client_.consume(to_client_.size()); // nobody to deliver it to
    } else {
        if (write_error == SSL_ERROR_WANT_READ || read_error == SSL_ERROR_WANT_READ) wait_cipher(Wait::read);
        if (write_error == SSL_ERROR_WANT_WRITE || read_error == SSL_ERROR_WANT_WRITE) wait_cipher(Wait::write);
    }
    if (plain_eof_ && !plain_writing_) to_postscreen_.consume(to_postscreen_.size()); // nobody to deliver it to
    start_plain_write();
    start_plain_read();

    // The end: the client is gone and postscreen has what it sent, or
    // postscreen is gone and the client has what postscreen sent.
    if (client_eof_ && to_postscreen_.empty() && !plain_writing_) return finish();
    if (plain_eof_ && !client_eof_ && to_client_.empty()) {
        ERR_clear_error();
        (void)SSL_shutdown(ssl); // close_notify, best effort
        ERR_clear_error();
        return finish();
    }
}

// One step of the handshake; false while it is not (yet) complete.
bool Session::handshake() {
    SSL* ssl = ssl_.get();
    ERR_clear_error();
    int result = SSL_do_handshake(ssl);
    if (result != 1) {
        int error = SSL_get_error(ssl, result);
        if (error == SSL_ERROR_WANT_READ) {
            wait_cipher(Wait::read);
        } else if (error == SSL_ERROR_WANT_WRITE) {
            wait_cipher(Wait::write);
        } else {
            if (error == SSL_ERROR_SSL)
                log_tls_errors();
            else
                ERR_clear_error();
            finish();
        }
        return false;
    }
    phase_ = Phase::relay;
    tls_->log_established(ssl, peer_);
    touch();
    arm_io_timer(session_timeout_);
    return true;
}

void Session::wait_cipher(Wait which) {
    bool& pending = which == Wait::read ? cipher_read_wait_ : cipher_write_wait_;
    if (pending) return;
    pending = true;
    auto type =
        which == Wait::read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write;
    cipher_.async_wait(type, [self = shared_from_this(), which](boost::system::error_code ec) {
        (which == Wait::read ? self->cipher_read_wait_ : self->cipher_write_wait_) = false;
        if (self->phase_ == Phase::done || ec == asio::error::operation_aborted) return;
        self->pump();
    });
}

void Session::start_plain_read() {
    if (plain_reading_ || plain_eof_ || client_eof_) return;
    to_client_.compact();
    if (to_client_.tail_size() == 0) return; // back-pressure: the client is slow
    plain_reading_ = true;
    socket_.async_read_some(asio::buffer(to_client_.tail(), to_client_.tail_size()),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                self->plain_reading_ = false;
                                if (self->phase_ == Phase::done) return;
                                if (ec) {
                                    self->plain_eof_ = true;
                                } else {
                                    self->to_client_.commit(n);
                                    self->touch();
                                }
                                self->pump();
                            });
}

void Session::start_plain_write() {
    if (plain_writing_ || plain_eof_ || to_postscreen_.empty()) return;
    plain_writing_ = true;
    socket_.async_write_some(asio::buffer(to_postscreen_.data(), to_postscreen_.size()),
                             [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                 self->plain_writing_ = false;
                                 if (self->phase_ == Phase::done) return;
                                 if (ec) {
                                     self->plain_eof_ = true;
                                 } else {
                                     self->to_postscreen_.consume(n);
                                     self->touch();
                                 }
                                 self->pump();
                             });
}

void Session::arm_io_timer(std::chrono::steady_clock::duration timeout) {
    io_timer_.arm(timeout, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->on_io_timeout();
    });
}

void Session::on_io_timeout() {
    if (phase_ == Phase::done) return;
    if (phase_ == Phase::relay) {
        // Inactivity only: re-arm for what is left since the last progress.
        auto idle_until = last_progress_ + session_timeout_;
        auto now = std::chrono::steady_clock::now();
        if (idle_until > now) return arm_io_timer(idle_until - now);
    }
    if (phase_ == Phase::handshake || cipher_read_wait_ || cipher_write_wait_)
        msg_warn("ciphertext read/write timeout for %s", request_.remote_endpoint.c_str());
    else
        msg_warn("deadlock on plaintext stream for %s", request_.remote_endpoint.c_str());
    finish();
}

void Session::finish() {
    if (phase_ == Phase::done) return;
    const bool established = phase_ == Phase::relay;
    phase_ = Phase::done;
    if (connected_) {
        if (!established)
            msg_info("TLS handshake failed for service=%s peer=%s", request_.serverid.c_str(),
                     request_.remote_endpoint.c_str());
        msg_info("DISCONNECT %s", request_.remote_endpoint.c_str());
    }
    setup_timer_.cancel();
    io_timer_.cancel();
    boost::system::error_code ignored;
    cipher_.cancel(ignored);
    ssl_.reset(); // before its descriptor is closed
    cipher_.close(ignored);
    socket_.close(ignored);
    conn_.slot.release();
}

} // namespace psm::tlsproxy
