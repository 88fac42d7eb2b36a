// The hand-off of a good client to the real SMTP server (stock's
// postscreen_send.c, protocols.md §2.2): a non-blocking connect to
// private/<smtpd_service_name> relative to the daemon's working directory
// (queue_directory, also the chroot), the client socket passed as one 0x00
// byte + SCM_RIGHTS, then the attr0 list client_address, client_port,
// server_address, server_port. The caller keeps the channel open until
// smtpd closes it (at most 100 s); that is when the session really ends.
#pragma once

#include "endpoint.hpp"

#include "psm/util/unique_fd.hpp"

#include <chrono>
#include <string>

namespace psm::postscreen {

// How long postscreen waits for smtpd to close the channel.
inline constexpr std::chrono::seconds kHandoffAckTimeout{100};

enum class HandoffResult {
    ok,             // passed; wait for smtpd to close `channel`
    connect_failed, // "cannot connect to service %s: %m"
    pass_failed,    // "cannot pass connection to service %s: %m"
};

// Does not log; `error` is the errno value for the warning.
HandoffResult pass_connection(const std::string& service, int client_fd, const Endpoint& endpoint, UniqueFd& channel,
                              int& error);

// The attribute list that follows the descriptor (exactly 4 attributes).
std::string handoff_attributes(const Endpoint& endpoint);

} // namespace psm::postscreen
