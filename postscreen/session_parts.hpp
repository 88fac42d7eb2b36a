// Private to the session's source files: the state that only some phases
// need, allocated on entering them.
#pragma once

#include "session.hpp"

#include "psm/util/asio_line_reader.hpp"
#include "psm/util/unique_fd.hpp"

#include <cstdint>

namespace psm::postscreen {

// The DNSBL part of the early phase.
struct Session::DnsblState {
    DnsblClient::Waiter waiter;
    DnsblClient::Result result;
    bool retrieved = false;
};

// The SMTP engine phase: the endpoint strings the engine refers to, the
// engine, and the line reader on the client socket.
struct Session::SmtpState {
    SmtpState(Server& server, SessionState& state, ClientState& client, ClientEndpoint ep)
        : endpoint(std::move(ep)), engine(server.engine_settings(), server.formatter(), state, client, endpoint),
          reader(engine.line_length_limit()) {}
    ClientEndpoint endpoint;
    SmtpEngine engine;
    AsioLineReader reader;
};

// Waiting for smtpd to close the hand-off channel.
struct Session::HandoffState {
    UniqueFd channel;
    std::uint64_t ticket = 0; // the server's ReadinessWatch watches `channel`
    bool counted = false;     // in the post-queue
};

} // namespace psm::postscreen
