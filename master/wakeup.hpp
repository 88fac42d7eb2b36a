// Wakeup requests (master.cf field 6) sent the way stock master's
// triggers do, without ever blocking the event loop: unix and inet
// services get "W" plus a null byte over a new connection; a pass service
// gets one end of a pipe as a passed descriptor and "W\0" through the pipe;
// a fifo gets "W". Connections are kept until the server closes them or
// 101 s pass (stock's timeout + 100).
#pragma once

#include "listeners.hpp"
#include "service_plan.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>

namespace psm::master {

// Starts one wakeup of service. on_error receives the reason (strerror
// text) if connecting or writing fails; master logs it as stock:
// "master_wakeup_timer_event: service EXT(NAME): REASON".
void send_wakeup(boost::asio::io_context& io, const ServicePlan& service, const ListenIdentity& who,
                 std::function<void(const std::string& reason)> on_error);

} // namespace psm::master
