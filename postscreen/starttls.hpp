// STARTTLS through tlsproxy(8), postscreen's side of stock 3.7's exchange
// (../shared/spec/protocols.md §4): connect to private/<tlsproxy_service_name>
// (relative to the working directory, queue_directory), read tlsproxy's
// announcement (protocol=tlsproxy_protocol, 10 s), send the request
// (remote_endpoint, flags=server role, timeout twice, serverid=smtpd), read
// status=1 (10 s), then pass the client socket. The caller then writes
// "220 2.0.0 Ready to start TLS" on the client socket and continues its SMTP
// engine on the returned plaintext socket.
//
// Failures are logged with stock's warnings ("connect to private/tlsproxy
// service: ...", "problem receiving protocol attribute from ...", "error
// sending request to ...", "timeout receiving status from ...", "problem
// sending file handle to ..."); the caller answers 454 and carries on.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace psm::postscreen {

// How long postscreen waits for each tlsproxy reply (stock's fixed value).
inline constexpr std::chrono::seconds kTlsproxyReplyTimeout{10};

// The request list, exactly as stock 3.7 postscreen sends it.
std::string tlsproxy_request(const std::string& remote_endpoint, long timeout);

class TlsproxyRequest {
public:
    using Socket = boost::asio::generic::stream_protocol::socket;
    // ok: `plaintext` is connected to tlsproxy, which now owns a copy of the
    // client socket. Never called from inside start().
    using Done = std::function<void(bool ok, Socket plaintext)>;

    // service: "private/tlsproxy"; remote_endpoint: "[addr]:port";
    // timeout: postscreen_command_time_limit (normal value), seconds.
    // client_fd is duplicated; the caller keeps its own.
    static void start(boost::asio::io_context& io, const std::string& service, const std::string& remote_endpoint,
                      long timeout, int client_fd, Done done);
};

} // namespace psm::postscreen
