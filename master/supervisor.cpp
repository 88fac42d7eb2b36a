// The running master (see supervisor.hpp).
#include "supervisor.hpp"

#include "accounting.hpp"
#include "spawn.hpp"
#include "wakeup.hpp"

#include "psm/util/error.hpp"
#include "psm/util/log.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <optional>

namespace psm::master {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

struct ServiceRuntime {
    ServiceRuntime(asio::io_context& io, ServicePlan p)
        : plan(std::move(p)), acct(plan.max_proc, plan.argv.stress_index >= 0), throttle_timer(io), wakeup_timer(io) {}

    ServicePlan plan;
    ProcessAccounting acct;
    std::vector<std::unique_ptr<Descriptor>> listeners;
    bool listening = false;
    unsigned listen_epoch = 0;
    UniqueFd status_child; // fd 5 of every child
    std::unique_ptr<Descriptor> status;
    unsigned status_epoch = 0;
    asio::steady_timer throttle_timer;
    asio::steady_timer wakeup_timer;
    unsigned wakeup_epoch = 0;
    bool cond_wake_pending = false;
    bool removed = false;
};

namespace {

constexpr std::size_t kStatusSize = 12;
constexpr int kStatusReadsPerEvent = 256;

const char* errno_text(int err = errno) {
    return std::strerror(err);
}

bool readable(int fd) {
    pollfd p{};
    p.fd = fd;
    p.events = POLLIN;
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

} // namespace

Supervisor::Supervisor(asio::io_context& io, MasterPlan plan, ListenIdentity who)
    : io_(io), plan_(std::move(plan)), who_(who) {}

Supervisor::~Supervisor() {
    for (auto& svc : services_) {
        svc->removed = true;
        svc->throttle_timer.cancel();
        svc->wakeup_timer.cancel();
    }
}

int Supervisor::backlog(const ServicePlan& plan) const {
    return std::max(plan.max_proc, plan_.settings.process_limit);
}

void Supervisor::start() {
    int flow[2];
    if (::pipe2(flow, O_NONBLOCK | O_CLOEXEC) < 0) throw ConfigError(std::string("pipe: ") + errno_text());
    flow_read_.reset(flow[0]);
    flow_write_.reset(flow[1]);

    std::vector<std::vector<UniqueFd>> fds;
    for (const ServicePlan& p : plan_.services)
        fds.push_back(open_listeners(p, backlog(p), who_));
    for (std::size_t i = 0; i < plan_.services.size(); ++i) {
        auto svc = make_runtime(plan_.services[i], std::move(fds[i]));
        services_.push_back(svc);
        start_service(svc);
    }
}

std::shared_ptr<ServiceRuntime> Supervisor::make_runtime(const ServicePlan& plan, std::vector<UniqueFd> listeners) {
    auto svc = std::make_shared<ServiceRuntime>(io_, plan);
    for (UniqueFd& fd : listeners)
        svc->listeners.push_back(std::make_unique<Descriptor>(io_, fd.release()));
    return svc;
}

void Supervisor::start_service(const std::shared_ptr<ServiceRuntime>& svc) {
    svc->cond_wake_pending = svc->plan.wakeup_conditional;
    update_listen(svc);
    open_status_channel(svc);
    start_wakeup(svc);
}

void Supervisor::stop_service(const std::shared_ptr<ServiceRuntime>& svc) {
    svc->removed = true;
    ++svc->wakeup_epoch;
    svc->wakeup_timer.cancel();
    svc->throttle_timer.cancel();
    close_status_channel(*svc);
    svc->listening = false;
    ++svc->listen_epoch;
    svc->listeners.clear(); // the socket files stay, as stock leaves them
    for (const auto& [pid, child] : svc->acct.children()) {
        (void)child;
        ::kill(pid, SIGTERM);
    }
}

// ---------------------------------------------------------------- listening

void Supervisor::update_listen(const std::shared_ptr<ServiceRuntime>& svc) {
    bool want = false;
    if (!svc->removed) {
        std::vector<std::string> warnings;
        want = svc->acct.should_listen(std::time(nullptr), svc->plan.ext_name, svc->plan.name, &warnings);
        for (const std::string& w : warnings)
            msg_warn("%s", w.c_str());
    }
    if (want == svc->listening) return;
    if (msg_verbose) msg_info("master_avail_listen: %s events %s", want ? "enable" : "disable", svc->plan.name.c_str());
    svc->listening = want;
    arm_listeners(svc);
}

void Supervisor::arm_listeners(const std::shared_ptr<ServiceRuntime>& svc) {
    const unsigned epoch = ++svc->listen_epoch;
    for (const auto& d : svc->listeners) {
        boost::system::error_code ignored;
        if (d) d->cancel(ignored); // no stale waits pile up
    }
    if (!svc->listening) return;
    for (const auto& d : svc->listeners) {
        if (!d) continue; // released during a reload
        // The descriptor may already be readable (a connection queued while
        // children were available): that edge has passed, so check now.
        if (readable(d->native_handle())) {
            asio::post(io_, [this, weak = std::weak_ptr(svc), epoch] {
                if (auto s = weak.lock()) on_connection_pending(s, epoch);
            });
            return;
        }
        d->async_wait(Descriptor::wait_read,
                      [this, weak = std::weak_ptr(svc), epoch](const boost::system::error_code& ec) {
                          if (ec) return;
                          if (auto s = weak.lock()) on_connection_pending(s, epoch);
                      });
    }
}

void Supervisor::on_connection_pending(const std::shared_ptr<ServiceRuntime>& svc, unsigned epoch) {
    if (svc->removed || !svc->listening || epoch != svc->listen_epoch) return;
    // Connections that a child took meanwhile need no new process: re-arm.
    bool pending = std::any_of(svc->listeners.begin(), svc->listeners.end(),
                               [](const auto& d) { return readable(d->native_handle()); });
    if (!pending) {
        arm_listeners(svc);
        return;
    }
    if (svc->acct.note_demand_spawn(std::time(nullptr))) restart_status_channel(svc);
    spawn(svc);
}

// ---------------------------------------------------------------- processes

void Supervisor::spawn(const std::shared_ptr<ServiceRuntime>& svc) {
    const ServicePlan& p = svc->plan;
    SpawnRequest r;
    r.path = p.path;
    r.argv = p.argv.argv;
    if (p.argv.stress_index >= 0 && svc->acct.stress_active(std::time(nullptr)))
        r.argv[static_cast<std::size_t>(p.argv.stress_index)] = "stress=yes";
    r.env = plan_.settings.environment;
    const unsigned generation = ++generation_;
    r.env.push_back(generation_variable(generation));
    r.flow_read = flow_read_.get();
    r.flow_write = flow_write_.get();
    r.status = svc->status_child.get();
    for (const auto& d : svc->listeners)
        r.listen.push_back(d->native_handle());

    pid_t pid = spawn_child(r);
    if (pid < 0) {
        msg_warn("master_spawn: fork: %s -- throttling", errno_text());
        throttle(svc);
        return;
    }
    if (msg_verbose) msg_info("spawn command %s; pid %d", p.path.c_str(), static_cast<int>(pid));
    svc->acct.add_child(pid, generation);
    procs_[pid] = svc;
    update_listen(svc);
    if (svc->cond_wake_pending) {
        svc->cond_wake_pending = false;
        if (msg_verbose) msg_info("start conditional timer for %s", svc->plan.name.c_str());
        start_wakeup(svc);
    }
}

void Supervisor::throttle(const std::shared_ptr<ServiceRuntime>& svc) {
    if (svc->acct.throttled()) return;
    svc->acct.set_throttled(true);
    if (msg_verbose) msg_info("throttling command %s", svc->plan.path.c_str());
    svc->throttle_timer.expires_after(std::chrono::seconds(svc->plan.throttle_delay));
    svc->throttle_timer.async_wait([this, weak = std::weak_ptr(svc)](const boost::system::error_code& ec) {
        auto s = weak.lock();
        if (ec || !s || s->removed) return;
        s->acct.set_throttled(false);
        if (msg_verbose) msg_info("throttle released for command %s", s->plan.path.c_str());
        update_listen(s);
    });
    update_listen(svc);
}

void Supervisor::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return; // 0: none left to reap; -1: no children (ECHILD)
        if (msg_verbose) msg_info("master_reap_child: pid %d", static_cast<int>(pid));
        auto it = procs_.find(pid);
        if (it == procs_.end()) {
            msg_warn("master_reap: unknown pid: %d", static_cast<int>(pid));
            continue;
        }
        std::shared_ptr<ServiceRuntime> svc = std::move(it->second);
        procs_.erase(it);
        const char* path = svc->plan.path.c_str();
        const bool normal = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!normal) {
            if (WIFEXITED(status))
                msg_warn("process %s pid %d exit status %d", path, static_cast<int>(pid), WEXITSTATUS(status));
            if (WIFSIGNALED(status) && !(svc->removed && WTERMSIG(status) == SIGTERM))
                msg_warn("process %s pid %d killed by signal %d", path, static_cast<int>(pid), WTERMSIG(status));
        }
        const ProcessAccounting::Removed gone = svc->acct.remove_child(pid);
        if (svc->removed) continue;
        if (!normal && gone.use_count == 0 && !svc->acct.throttled()) {
            msg_warn("%s: bad command startup -- throttling", path);
            throttle(svc);
        }
        update_listen(svc);
    }
}

void Supervisor::terminate_children() {
    const pid_t group = ::getpgrp();
    for (const auto& [pid, svc] : procs_) {
        (void)svc;
        if (::getpgid(pid) == group) ::kill(pid, SIGTERM);
    }
}

// ---------------------------------------------------------------- status channel

void Supervisor::open_status_channel(const std::shared_ptr<ServiceRuntime>& svc) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) msg_fatal("socketpair: %s", errno_text());
    // Master's end non-blocking so that a partial update cannot stall the
    // loop; the children's end stays blocking, as stock gives it.
    ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    svc->status = std::make_unique<Descriptor>(io_, sv[0]);
    svc->status_child.reset(sv[1]);
    const unsigned channel = ++svc->status_epoch;
    svc->status->async_wait(Descriptor::wait_read,
                            [this, weak = std::weak_ptr(svc), channel](const boost::system::error_code& ec) {
                                if (ec) return;
                                if (auto s = weak.lock()) read_status(s, channel);
                            });
}

void Supervisor::close_status_channel(ServiceRuntime& svc) {
    ++svc.status_epoch;
    svc.status.reset();
    svc.status_child.reset();
}

void Supervisor::restart_status_channel(const std::shared_ptr<ServiceRuntime>& svc) {
    close_status_channel(*svc);
    open_status_channel(svc);
    start_wakeup(svc);
}

void Supervisor::read_status(const std::shared_ptr<ServiceRuntime>& svc, unsigned channel) {
    if (channel != svc->status_epoch || !svc->status) return;
    const ServicePlan& p = svc->plan;
    bool changed = false;
    for (int i = 0; i < kStatusReadsPerEvent; ++i) {
        unsigned char buf[kStatusSize] = {};
        ssize_t n = ::read(svc->status->native_handle(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) msg_warn("master_status_event: read: %s", errno_text());
            break;
        }
        if (n == 0) return; // cannot happen while master holds the other end
        std::int32_t pid = 0, value = 0;
        std::uint32_t generation = 0;
        std::memcpy(&pid, buf, sizeof(pid));
        if (static_cast<std::size_t>(n) != kStatusSize) {
            msg_warn("service %s(%s): child (pid %d) sent partial status update (%d bytes)", p.ext_name.c_str(),
                     p.name.c_str(), static_cast<int>(pid), static_cast<int>(n));
            continue;
        }
        std::memcpy(&generation, buf + 4, sizeof(generation));
        std::memcpy(&value, buf + 8, sizeof(value));
        if (msg_verbose)
            msg_info("master_status_event: pid %d gen %u avail %d", static_cast<int>(pid), generation,
                     static_cast<int>(value));
        switch (svc->acct.status(pid, generation, value)) {
        case StatusOutcome::unknown_pid:
            if (msg_verbose) msg_info("master_status_event: process id not found: %d", static_cast<int>(pid));
            break;
        case StatusOutcome::wrong_generation:
            msg_info("ignoring status update from child pid %d generation %u", static_cast<int>(pid), generation);
            break;
        case StatusOutcome::bad_value:
            // Stock prints the pid where the status belongs, and vice versa.
            msg_warn("master_status_event: ignoring unknown status: %d allegedly from pid: %d", static_cast<int>(pid),
                     static_cast<int>(value));
            break;
        case StatusOutcome::unchanged:
            break;
        case StatusOutcome::now_available:
        case StatusOutcome::now_taken:
            changed = true;
            break;
        }
    }
    if (changed) update_listen(svc);
    if (channel != svc->status_epoch || !svc->status) return;
    svc->status->async_wait(Descriptor::wait_read,
                            [this, weak = std::weak_ptr(svc), channel](const boost::system::error_code& ec) {
                                if (ec) return;
                                if (auto s = weak.lock()) read_status(s, channel);
                            });
}

// ---------------------------------------------------------------- wakeup

void Supervisor::start_wakeup(const std::shared_ptr<ServiceRuntime>& svc) {
    const unsigned epoch = ++svc->wakeup_epoch;
    svc->wakeup_timer.cancel();
    if (svc->plan.wakeup <= 0 || svc->cond_wake_pending || svc->removed) return;
    wakeup_event(svc, epoch);
}

void Supervisor::wakeup_event(const std::shared_ptr<ServiceRuntime>& svc, unsigned epoch) {
    if (epoch != svc->wakeup_epoch || svc->removed || svc->plan.wakeup <= 0) return;
    if (!svc->acct.throttled()) {
        if (msg_verbose) msg_info("master_wakeup_timer_event: service %s", svc->plan.name.c_str());
        send_wakeup(io_, svc->plan, who_, [ext = svc->plan.ext_name, name = svc->plan.name](const std::string& why) {
            msg_warn("master_wakeup_timer_event: service %s(%s): %s", ext.c_str(), name.c_str(), why.c_str());
        });
    }
    svc->wakeup_timer.expires_after(std::chrono::seconds(svc->plan.wakeup));
    svc->wakeup_timer.async_wait([this, weak = std::weak_ptr(svc), epoch](const boost::system::error_code& ec) {
        if (ec) return;
        if (auto s = weak.lock()) wakeup_event(s, epoch);
    });
}

// ---------------------------------------------------------------- reload

void Supervisor::reload(MasterPlan next) {
    std::vector<ServicePlan> current;
    for (const auto& svc : services_)
        current.push_back(svc->plan);
    const PlanDiff diff = diff_plans(current, next.services);
    const std::size_t none = SIZE_MAX;
    std::vector<std::size_t> old_index(next.services.size(), none);
    for (std::size_t n : diff.kept)
        for (std::size_t o = 0; o < current.size(); ++o)
            if (current[o].same_identity(next.services[n])) old_index[n] = o;

    // The listeners of every new or changed service. An inet address and
    // port that is already open (in this service before, or in a service
    // that goes away) keeps its socket: binding it again would fail while
    // the old children still hold it, and a kept socket refuses nobody.
    // The rest is opened here, before anything changes.
    struct Slot {
        ServiceRuntime* donor = nullptr; // running service whose socket is taken over
        std::size_t index = 0;           // its listener number
        UniqueFd fd;                     // or a new socket
    };
    struct Donor {
        ServiceRuntime* svc;
        std::size_t index;
        bool taken = false;
    };
    std::vector<Donor> donors;
    for (std::size_t o : diff.removed)
        if (current[o].type == ServiceType::inet)
            for (std::size_t j = 0; j < services_[o]->listeners.size(); ++j)
                donors.push_back({services_[o].get(), j});
    std::vector<bool> rebuild(next.services.size(), false);
    for (std::size_t n = 0; n < next.services.size(); ++n) {
        const std::size_t o = old_index[n];
        if (o != none && current[o].same_listeners(next.services[n])) continue;
        rebuild[n] = true;
        if (o != none && current[o].type == ServiceType::inet)
            for (std::size_t j = 0; j < services_[o]->listeners.size(); ++j)
                donors.push_back({services_[o].get(), j});
    }
    std::vector<std::vector<Slot>> slots(next.services.size());
    for (std::size_t n = 0; n < next.services.size(); ++n) {
        if (!rebuild[n]) continue;
        const ServicePlan& p = next.services[n];
        slots[n].resize(static_cast<std::size_t>(p.listen_fd_count()));
        for (std::size_t i = 0; i < slots[n].size(); ++i) {
            if (p.type == ServiceType::inet) {
                auto it = std::find_if(donors.begin(), donors.end(), [&](const Donor& d) {
                    return !d.taken && d.svc->plan.port == p.port &&
                           d.svc->plan.addresses.at(d.index) == p.addresses[i];
                });
                if (it != donors.end()) {
                    it->taken = true;
                    slots[n][i].donor = it->svc;
                    slots[n][i].index = it->index;
                    continue;
                }
            }
            // Throws ListenError, a ConfigError: the new sockets close with
            // `slots` and the running configuration stays.
            slots[n][i].fd = open_listener(p, i, backlog(p), who_);
        }
    }

    // From here on nothing fails. Quiet the services that give up sockets,
    // hand the sockets over, then stop what is gone.
    for (std::size_t o : diff.removed) {
        services_[o]->listening = false;
        arm_listeners(services_[o]); // cancels the waits
    }
    for (std::size_t n = 0; n < next.services.size(); ++n) {
        if (!rebuild[n] || old_index[n] == none) continue;
        services_[old_index[n]]->listening = false;
        arm_listeners(services_[old_index[n]]);
    }
    std::vector<std::vector<std::unique_ptr<Descriptor>>> built(next.services.size());
    for (std::size_t n = 0; n < next.services.size(); ++n) {
        for (Slot& slot : slots[n]) {
            if (slot.donor != nullptr) {
                built[n].push_back(std::move(slot.donor->listeners[slot.index]));
                ::listen(built[n].back()->native_handle(), backlog(next.services[n])); // this service's backlog
            } else {
                built[n].push_back(std::make_unique<Descriptor>(io_, slot.fd.release()));
            }
        }
    }
    for (std::size_t o : diff.removed)
        stop_service(services_[o]);

    plan_.settings = next.settings;
    std::vector<std::shared_ptr<ServiceRuntime>> running;
    for (std::size_t n = 0; n < next.services.size(); ++n) {
        const ServicePlan& p = next.services[n];
        if (old_index[n] == none) {
            auto svc = std::make_shared<ServiceRuntime>(io_, p);
            svc->listeners = std::move(built[n]);
            running.push_back(svc);
            start_service(svc);
            continue;
        }
        std::shared_ptr<ServiceRuntime> svc = services_[old_index[n]];
        running.push_back(svc);
        svc->plan = p;
        svc->acct.reconfigure(p.max_proc, p.argv.stress_index >= 0);
        if (rebuild[n]) svc->listeners = std::move(built[n]); // sockets not taken over close here
        svc->cond_wake_pending = p.wakeup_conditional;
        restart_status_channel(svc);
        update_listen(svc);
    }
    services_ = std::move(running);
    plan_.services = std::move(next.services);
    plan_.warnings = std::move(next.warnings);
    plan_.notes = std::move(next.notes);
}

} // namespace psm::master
