// One postscreen -> tlsproxy connection, from the protocol announcement to
// the end of the relayed TLS session (protocols.md §4):
//   announce "protocol=tlsproxy_protocol"; read the request (100 s); log
//   CONNECT; reply status=1 only for a server-role request when the TLS
//   engine is ready, else status=0 and wait for the peer to hang up;
//   receive the client socket by SCM_RIGHTS (100 s); TLS handshake on it
//   (request's handshake timeout); then relay plaintext <-> TLS with one
//   bounded buffer per direction (back-pressure: a full buffer stops reading
//   its producer) and an inactivity limit of the session timeout + 10 s;
//   log DISCONNECT. Log lines are stock tlsproxy's.
#pragma once

#include "relay_buffer.hpp"
#include "request.hpp"
#include "server_context.hpp"

#include "psm/global/attr_io.hpp"
#include "psm/global/daemon.hpp"
#include "psm/util/deadline.hpp"
#include "psm/util/unique_fd.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>

namespace psm::tlsproxy {

struct SessionPolicy {
    std::chrono::steady_clock::duration init_timeout = std::chrono::seconds(100); // request, status, descriptor
    std::chrono::seconds session_slack{10};                                       // added to the session timeout
    std::size_t buffer_size = 8192;                                               // per relay direction
};

class Session : public std::enable_shared_from_this<Session> {
public:
    // tls is nullptr when the server TLS engine is unavailable.
    Session(boost::asio::io_context& io, const ServerContext* tls, Connection connection, const SessionPolicy& policy);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void start();

private:
    enum class Phase { setup, handshake, relay, done };
    enum class Wait { read, write };

    void read_request();
    void on_request(AttrReadResult result);
    void send_status(bool ready);
    void wait_for_descriptor();
    void receive_descriptor();
    void wait_for_hangup();
    void start_tls(UniqueFd client);

    void pump();
    bool handshake();
    void wait_cipher(Wait which);
    void start_plain_read();
    void start_plain_write();
    void arm_io_timer(std::chrono::steady_clock::duration timeout);
    void on_io_timeout();
    void touch() { last_progress_ = std::chrono::steady_clock::now(); }

    void finish();

    const ServerContext* tls_;
    Connection conn_; // its slot
    Connection::Socket socket_;
    SessionPolicy policy_;
    Phase phase_ = Phase::setup;
    Request request_;
    bool connected_ = false; // CONNECT was logged

    Deadline setup_timer_;
    Deadline io_timer_;
    std::chrono::steady_clock::duration session_timeout_{};
    std::chrono::steady_clock::time_point last_progress_{};

    TlsPeer peer_;
    SslPtr ssl_;
    boost::asio::posix::stream_descriptor cipher_;
    bool cipher_read_wait_ = false;
    bool cipher_write_wait_ = false;

    RelayBuffer to_client_;     // plaintext from postscreen, for SSL_write
    RelayBuffer to_postscreen_; // SSL_read output, for postscreen
    bool plain_reading_ = false;
    bool plain_writing_ = false;
    bool plain_eof_ = false;  // postscreen closed its side (or the plaintext socket failed)
    bool client_eof_ = false; // the remote client closed (or its socket failed)
    std::array<char, 512> discard_{};
};

} // namespace psm::tlsproxy
