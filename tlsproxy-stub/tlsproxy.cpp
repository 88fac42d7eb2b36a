// The tlsproxy daemon: configuration, TLS engine, one Session per client.
#include "tlsproxy.hpp"

#include "server_settings.hpp"

#include "psm/util/log.hpp"

#include <cerrno>
#include <cstring>

namespace psm::tlsproxy {

TlsProxy::TlsProxy(DaemonHost& host, SessionPolicy policy) : host_(host), policy_(policy) {
    context_ = ServerContext::create(read_server_settings(host.config()));
}

void TlsProxy::accept(Connection connection) {
    std::make_shared<Session>(host_.io(), context_.get(), std::move(connection), policy_)->start();
}

bool TlsProxy::drain() {
    // Stock retries a failed fork a few times, then gives up fatally; a
    // failed fork here just ends the sessions now.
    if (host_.fork_to_background()) return true;
    msg_warn("fork: %s", std::strerror(errno));
    return false;
}

} // namespace psm::tlsproxy
