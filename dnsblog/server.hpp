// The dnsblog daemon on the skeleton: one event-driven process serving
// every connection (master.cf "dnsblog unix - - y - 0 dnsblog"). Each
// connection carries either one stock per-site request (answered, then
// closed, as stock) or any number of pipelined weighted requests (answered
// in completion order). Input and output are bounded per connection.
#pragma once

#include "engine.hpp"

#include "psm/global/daemon.hpp"

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace psm::dnsblog {

class ClientConnection;

class DnsblogDaemon : public Daemon {
public:
    // Pre-jail: reads the settings (resolv.conf before any chroot). Throws
    // ConfigError for bad parameter values.
    explicit DnsblogDaemon(DaemonHost& host);
    DnsblogDaemon(DaemonHost& host, Settings settings);
    ~DnsblogDaemon() override;

    void post_jail() override;
    void accept(Connection connection) override;
    bool drain() override;

    Engine& engine() { return engine_; }
    std::size_t connections() const { return connections_.size(); }

private:
    friend class ClientConnection;
    void forget(std::uint64_t id) { connections_.erase(id); }

    DaemonHost& host_;
    Engine engine_;
    std::unordered_map<std::uint64_t, std::shared_ptr<ClientConnection>> connections_; // until closed
    std::uint64_t next_id_ = 1;
    bool draining_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The spec main() gives the skeleton.
DaemonSpec dnsblog_spec();

} // namespace psm::dnsblog
