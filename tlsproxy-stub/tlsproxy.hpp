// The tlsproxy daemon on the psmaster skeleton: an event server (one
// process, many sessions; stock insists on a process limit of 0) whose
// server TLS engine is built pre-jail, so keys can be root-only files.
#pragma once

#include "server_context.hpp"
#include "session.hpp"

#include "psm/global/daemon.hpp"

#include <memory>

namespace psm::tlsproxy {

class TlsProxy : public Daemon {
public:
    // Reads the configuration and loads keys (logging stock's warnings);
    // throws ConfigError for a fatal configuration error.
    explicit TlsProxy(DaemonHost& host, SessionPolicy policy = {});

    void accept(Connection connection) override;
    // After "postfix reload": finish the sessions in a background copy.
    bool drain() override;

    bool tls_ready() const { return context_ != nullptr; }

private:
    DaemonHost& host_;
    SessionPolicy policy_;
    std::unique_ptr<ServerContext> context_;
};

} // namespace psm::tlsproxy
