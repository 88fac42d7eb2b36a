// OpenSSL's error queue as Postfix logs it (tls_print_errors): one
// "TLS library problem: <error string>:<file>:<line>:[<data>:]" warning per
// queued error, oldest first, leaving the queue empty.
#pragma once

#include <string>
#include <vector>

namespace psm::tlsproxy {

// The queued errors as warning texts (without "warning: "); the queue is
// emptied.
std::vector<std::string> take_tls_errors();

// Logs take_tls_errors() with msg_warn.
void log_tls_errors();

} // namespace psm::tlsproxy
