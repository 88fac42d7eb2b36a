// Reading and writing one attribute list on a file descriptor, for code
// outside an event loop (tools, tests, start-up): a deadline for the whole
// list, poll() for waiting, so blocking and non-blocking fds both work.
// The result type is shared with the Boost.Asio helpers (attr_asio.hpp).
#pragma once

#include "psm/global/attr.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace psm {

struct AttrReadOptions {
    AttrEncoding encoding = AttrEncoding::attr0;
    AttrLimits limits;
    std::string pending; // bytes already received from the stream (a previous result's rest)
};

struct AttrReadResult {
    // Empty on success. Otherwise asio::error::timed_out, asio::error::eof
    // (the stream ended before the end-of-list marker), asio::error::message_size
    // (a limit was exceeded), errc::bad_message (malformed input), or the
    // system error of a failed read.
    boost::system::error_code error;
    AttrList attrs;
    std::string rest;    // bytes received after the end of this list
    std::string warning; // Postfix-worded text of a protocol error, e.g.
                         // "premature end-of-input on private/dnsblog while reading input attribute name"
    bool started = true; // false when nothing of the list arrived (EOF/timeout before the first byte)

    explicit operator bool() const { return !error; }
};

// Maps a finished decoder (status complete or error) to a result; used by
// both helper families.
AttrReadResult attr_read_result(AttrDecoder& decoder, std::string_view service);

// Reads one list. `service` names the peer in warnings ("private/dnsblog").
AttrReadResult attr_read_fd(int fd, std::string_view service, std::chrono::milliseconds timeout,
                            AttrReadOptions options = {});

// Writes the encoded list completely, or fails with timed_out or the write
// error (EPIPE does not raise SIGPIPE on sockets).
boost::system::error_code attr_write_fd(int fd, const AttrList& list, std::chrono::milliseconds timeout,
                                        AttrEncoding encoding = AttrEncoding::attr0);

} // namespace psm
