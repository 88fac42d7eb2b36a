// The running master: one ServiceRuntime per master.cf service (listen
// sockets, status channel, process accounting, throttle and wakeup
// timers) on one single-threaded io_context. It forks children on demand
// (a listen socket became readable while no child is available and the
// service is below its process limit), reaps them on SIGCHLD, applies a new
// configuration on SIGHUP (kept services keep their listen sockets) and
// stops them on SIGTERM.
#pragma once

#include "listeners.hpp"
#include "service_plan.hpp"

#include "psm/util/unique_fd.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <sys/types.h>
#include <unordered_map>
#include <vector>

namespace psm::master {

struct ServiceRuntime;

class Supervisor {
public:
    // who: the ids listen sockets are created with (mail_owner under root).
    Supervisor(boost::asio::io_context& io, MasterPlan plan, ListenIdentity who);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Opens every listener and starts every service. Throws ConfigError
    // (stock's fatal text) when a listener cannot be opened.
    void start();

    // Applies new_plan: new services start, removed ones stop (children
    // get SIGTERM), kept ones take the new settings, keep their listen
    // sockets (re-opened only when their addresses changed) and get a new
    // status channel so that their current children finish and exit.
    // Throws ConfigError, changing nothing, when a new listener cannot be
    // opened.
    void reload(MasterPlan new_plan);

    // Reaps every child that exited (SIGCHLD), with stock's log lines and
    // start-up throttling.
    void reap();

    // Sends SIGTERM to every child still in master's process group (the
    // way stock's kill(-pid) reaches them; children that made themselves
    // a session, like postscreen, see EOF on fd 5 instead).
    void terminate_children();

    const MasterPlan& plan() const { return plan_; }
    // For tests and diagnostics.
    int child_count() const { return static_cast<int>(procs_.size()); }

private:
    std::shared_ptr<ServiceRuntime> make_runtime(const ServicePlan& plan, std::vector<UniqueFd> listeners);
    void start_service(const std::shared_ptr<ServiceRuntime>& svc);
    void stop_service(const std::shared_ptr<ServiceRuntime>& svc);
    void update_listen(const std::shared_ptr<ServiceRuntime>& svc);
    void arm_listeners(const std::shared_ptr<ServiceRuntime>& svc);
    void on_connection_pending(const std::shared_ptr<ServiceRuntime>& svc, unsigned epoch);
    void spawn(const std::shared_ptr<ServiceRuntime>& svc);
    void throttle(const std::shared_ptr<ServiceRuntime>& svc);
    void open_status_channel(const std::shared_ptr<ServiceRuntime>& svc);
    void close_status_channel(ServiceRuntime& svc);
    void restart_status_channel(const std::shared_ptr<ServiceRuntime>& svc);
    void read_status(const std::shared_ptr<ServiceRuntime>& svc, unsigned channel);
    void start_wakeup(const std::shared_ptr<ServiceRuntime>& svc);
    void wakeup_event(const std::shared_ptr<ServiceRuntime>& svc, unsigned epoch);
    int backlog(const ServicePlan& plan) const;

    boost::asio::io_context& io_;
    MasterPlan plan_;
    ListenIdentity who_;
    UniqueFd flow_read_, flow_write_;
    std::vector<std::shared_ptr<ServiceRuntime>> services_;
    std::unordered_map<pid_t, std::shared_ptr<ServiceRuntime>> procs_;
    unsigned generation_ = 0;
};

} // namespace psm::master
