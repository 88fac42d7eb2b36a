// Private pieces of the daemon skeleton shared between its source files.
#pragma once

#include "psm/global/daemon.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>

namespace psm::daemon_detail {

// Creates a listening socket for a -L endpoint ("inet:HOST:PORT",
// "inet:[V6]:PORT", "unix:PATH"); returns the descriptor and sets
// transport to "inet" or "unix". Throws ConfigError for a bad endpoint or
// when the socket can't be bound.
int open_listener(const std::string& endpoint, std::string& transport);

// -S: connects stdin/stdout to one end of a socketpair and returns the other
// end for the daemon. on_done runs when the daemon's side was closed and
// everything it wrote reached stdout.
int start_stdio_relay(boost::asio::io_context& io, std::function<void()> on_done);

} // namespace psm::daemon_detail
