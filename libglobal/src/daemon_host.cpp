// The running skeleton: listeners (inherited or -L), accepting (including
// -t pass descriptor hand-offs), TAKEN/AVAIL status messages on fd 5, the
// master-gone watch, idle/use/retire limits and client bookkeeping.
#include "psm/global/attr_asio.hpp"
#include "psm/global/daemon.hpp"
#include "psm/util/fd_passing.hpp"
#include "psm/util/log.hpp"
#include "psm/util/process_id.hpp"
#include "psm/util/rate_limit.hpp"
#include "psm/util/text.hpp"

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

namespace psm {

namespace asio = boost::asio;
using Socket = Connection::Socket;
using Acceptor = asio::basic_socket_acceptor<asio::generic::stream_protocol>;

namespace {

// Protocol object for an existing socket: its address family.
asio::generic::stream_protocol protocol_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        msg_fatal("socket on file descriptor %d: %s", fd, std::strerror(errno));
    return asio::generic::stream_protocol(ss.ss_family, 0);
}

// The local address every connection accepted on a listener has, when it
// is fixed: a TCP listener bound to one address. Not for the wildcard, nor
// with IP_TRANSPARENT, where connections keep the addresses their clients
// chose. Spares a getsockname() per client. Returns the length, 0 if not
// fixed.
socklen_t fixed_local_address(int fd, sockaddr_storage& out) {
    socklen_t len = sizeof(out);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&out), &len) < 0 || len > sizeof(out)) return 0;
    int transparent = 0;
    socklen_t optlen = sizeof(transparent);
    if (out.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(out);
        if (in.sin_addr.s_addr == htonl(INADDR_ANY)) return 0;
        if (::getsockopt(fd, SOL_IP, IP_TRANSPARENT, &transparent, &optlen) == 0 && transparent) return 0;
        return len;
    }
    if (out.ss_family == AF_INET6) {
        const in6_addr& a = reinterpret_cast<const sockaddr_in6&>(out).sin6_addr;
        const bool mapped_any = IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr32[3] == 0;
        if (IN6_IS_ADDR_UNSPECIFIED(&a) || mapped_any) return 0;
        if (::getsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &transparent, &optlen) == 0 && transparent) return 0;
        return len;
    }
    return 0;
}

// Makes a descriptor non-blocking (accept4() does it for accepted sockets).
void set_non_blocking(int fd) {
    int on = 1;
    ::ioctl(fd, FIONBIO, &on);
}

constexpr auto kPassTimeout = std::chrono::seconds(100);
// Connections accepted per readiness of a listener before other handlers
// get their turn.
constexpr int kAcceptBatch = 32;
constexpr auto kEventReportInterval = std::chrono::seconds(1); // see report_event_connection()

} // namespace

namespace daemon_detail {

struct Listener {
    Acceptor acceptor;
    asio::steady_timer retry_timer; // after an accept error, per listener
    bool pass = false;
    bool armed = false;
    sockaddr_storage local{}; // see fixed_local_address()
    socklen_t local_length = 0;
    Listener(asio::io_context& io) : acceptor(io), retry_timer(io) {}
};

struct Core : std::enable_shared_from_this<Core> {
    Core(asio::io_context& io_, Config config_, DaemonSpec spec_, DaemonOptions options_)
        : io(io_), config(std::move(config_)), spec(spec_), options(std::move(options_)), idle_timer(io_),
          retire_timer(io_) {}

    asio::io_context& io;
    Config config;
    DaemonSpec spec;
    DaemonOptions options;
    Daemon* daemon = nullptr;

    std::optional<asio::posix::stream_descriptor> status;
    unsigned generation = 0;
    std::vector<std::unique_ptr<Listener>> listeners;
    asio::steady_timer idle_timer, retire_timer;
    RateLimit accept_error_log{std::chrono::seconds(10)}; // rate limit of the error line
    long max_idle = 0;                                    // seconds, 0 = never
    long max_use = 0;                                     // 0 = unlimited

    int clients = 0;
    long uses = 0;
    std::optional<std::chrono::steady_clock::time_point> last_report; // see report_event_connection()
    bool started = false;
    bool draining = false;
    bool stopped = false;
    int exit_status = 0;

    // ---- status channel

    // Returns false when the write failed (master gone). Asio's wait on the
    // status descriptor makes it non-blocking, but a full pipe only means
    // that master is busy: wait until it reads, as stock's blocking write
    // does, instead of mistaking EAGAIN for "master gone".
    bool notify(MasterStatus s) {
        if (!status) return true;
        auto msg = master_status_message(process_id(), generation, s);
        const int fd = status->native_handle();
        for (;;) {
            ssize_t n = ::write(fd, msg.data(), msg.size());
            if (n == static_cast<ssize_t>(msg.size())) return true;
            if (n >= 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) return false;
            if (errno == EINTR) continue;
            pollfd writable{fd, POLLOUT, 0};
            if (::poll(&writable, 1, -1) < 0 && errno != EINTR) return false;
        }
    }

    void watch_status() {
        if (!status) return;
        status->async_wait(asio::posix::stream_descriptor::wait_read,
                           [self = shared_from_this()](const boost::system::error_code& ec) {
                               if (ec == asio::error::operation_aborted || self->stopped) return;
                               if (msg_verbose) msg_info("master disconnect -- exiting");
                               self->begin_drain();
                           });
    }

    // ---- lifetime

    void stop(int code) {
        if (stopped) return;
        stopped = true;
        exit_status = code;
        boost::system::error_code ignored;
        idle_timer.cancel();
        retire_timer.cancel();
        for (auto& l : listeners)
            l->retry_timer.cancel();
        for (auto& l : listeners)
            l->acceptor.close(ignored);
        if (status) status->close(ignored);
        io.stop();
    }

    // Master gone, reload, or retirement: no new clients; finish or exit.
    void begin_drain() {
        if (draining || stopped) return;
        draining = true;
        boost::system::error_code ignored;
        for (auto& l : listeners)
            l->acceptor.close(ignored);
        idle_timer.cancel();
        if (status) status->close(ignored);
        status.reset();
        if (clients == 0) return stop(0);
        // A single server finishes its session; an event server only if
        // the daemon wants to drain.
        if (spec.kind == DaemonSpec::Kind::single) return;
        if (!daemon || !daemon->drain()) stop(0);
    }

    void arm_idle_timer() {
        if (max_idle <= 0 || draining || stopped || !started) return;
        idle_timer.expires_after(std::chrono::seconds(max_idle));
        idle_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->clients > 0 || self->stopped) return;
            if (msg_verbose) msg_info("idle timeout -- exiting");
            self->stop(0);
        });
    }

    void arm_retire_timer() {
        if (options.retire <= 0) return;
        retire_timer.expires_after(std::chrono::seconds(options.retire));
        retire_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->stopped) return;
            if (msg_verbose) msg_info("time to retire -- exiting");
            self->begin_drain();
        });
    }

    // ---- clients

    void client_started() {
        if (clients++ == 0) idle_timer.cancel();
    }

    void client_finished() {
        if (stopped) return;
        --clients;
        if (uses < std::numeric_limits<long>::max()) ++uses;
        if (spec.kind == DaemonSpec::Kind::single && started) {
            if (!notify(MasterStatus::avail)) return begin_drain();
        }
        if (clients > 0) return;
        if (draining) return stop(0);
        if (!spec.unlimited_use && max_use > 0 && uses >= max_use) return stop(0);
        arm_idle_timer();
        if (spec.kind == DaemonSpec::Kind::single) arm_all();
    }

    bool busy() const { return spec.kind == DaemonSpec::Kind::single && clients > 0; }

    // ---- accepting

    void arm_all() {
        for (auto& l : listeners)
            arm(*l);
    }

    // Accepts what is queued, from a handler of its own (never inside the
    // caller: a session that ends may re-arm a single server), then waits
    // for the listener to turn readable. Trying accept() before waiting
    // matters: the reactor reports a listener's readiness by edges, and
    // clients queued while none was accepted (busy, or a batch was
    // full) make no new edge.
    void arm(Listener& l) {
        if (l.armed || draining || stopped || busy() || !l.acceptor.is_open()) return;
        l.armed = true;
        asio::post(io, [self = shared_from_this(), &l] {
            l.armed = false;
            self->accept_queued(l);
        });
    }

    void wait_for_clients(Listener& l) {
        l.armed = true;
        l.acceptor.async_wait(Acceptor::wait_read,
                              [self = shared_from_this(), &l](const boost::system::error_code& ec) {
                                  l.armed = false;
                                  if (self->stopped || self->draining || ec == asio::error::operation_aborted) return;
                                  if (ec) return self->accept_failed(l, ec.value());
                                  self->accept_queued(l);
                              });
    }

    // accept4() hands over the peer's address and a non-blocking socket:
    // no getpeername() and no FIONBIO per client, as Asio's accept needs.
    void accept_queued(Listener& l) {
        if (l.armed) return; // a wait or retry is pending already
        for (int i = 0; i < kAcceptBatch; ++i) {
            if (draining || stopped || busy() || !l.acceptor.is_open()) return;
            Connection conn;
            socklen_t len = sizeof(conn.peer);
            int fd = ::accept4(l.acceptor.native_handle(), reinterpret_cast<sockaddr*>(&conn.peer), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                const int err = errno;
                if (err == EAGAIN || err == EWOULDBLOCK) return wait_for_clients(l);
                // The client went away while queued, or a network error
                // accept(2) passes on for the next connection: try the next.
                if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN || err == ENOPROTOOPT ||
                    err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH || err == EOPNOTSUPP || err == ENETUNREACH)
                    continue;
                return accept_failed(l, err);
            }
            conn.fd.reset(fd);
            if (l.pass) {
                receive_passed(std::move(conn.fd));
                continue;
            }
            conn.peer_length = len <= sizeof(conn.peer) ? len : 0;
            if (l.local_length > 0) {
                std::memcpy(&conn.local, &l.local, l.local_length);
                conn.local_length = l.local_length;
            }
            deliver(std::move(conn));
        }
        // More may be queued: after the handlers that are ready now.
        arm(l);
    }

    // A persistent error (EMFILE) is retried every 100 ms but logged at most
    // once per 10 seconds.
    void accept_failed(Listener& l, int err) {
        if (accept_error_log.allow()) msg_error("accept connection: %s", std::strerror(err));
        l.armed = true;
        l.retry_timer.expires_after(std::chrono::milliseconds(100));
        l.retry_timer.async_wait([self = shared_from_this(), &l](const boost::system::error_code& e) {
            l.armed = false;
            if (!e) self->arm(l);
        });
    }

    // Hands a connection to the daemon with the status messages around it.
    void deliver(Connection base) {
        auto conn = make(std::move(base));
        if (spec.kind == DaemonSpec::Kind::single) {
            notify(MasterStatus::taken);
            daemon->accept(std::move(conn));
            return;
        }
        const bool report = report_event_connection();
        if (report) notify(MasterStatus::taken);
        daemon->accept(std::move(conn));
        if (report && !notify(MasterStatus::avail)) begin_drain();
    }

    // An event server reports TAKEN then AVAIL around a new connection, as
    // stock does around every one. master uses these only to count the
    // process's uses (a process that never completed one and dies is a
    // "bad command startup") and to fork another process when none is
    // available; a service limited to one process (postscreen) never gets
    // another, so there only the first connection and then at most one a
    // second are reported: under a connection storm the pair per
    // connection cost master two wake-ups and postscreen two writes, on
    // the same CPU. Other event servers (tlsproxy) report every one.
    bool report_event_connection() {
        if (spec.process_limit != DaemonSpec::Limit::one) return true;
        const auto now = std::chrono::steady_clock::now();
        if (last_report && now - *last_report < kEventReportInterval) return false;
        last_report = now;
        return true;
    }

    Connection make(Connection base);

    // -t pass: the accepted connection carries one descriptor and then an
    // attribute list (stock pass_accept_attr); it is closed afterwards.
    void receive_passed(UniqueFd carrier) {
        struct PassOp {
            Socket carrier;
            asio::steady_timer timer;
            UniqueFd fd;
            PassOp(asio::io_context& io) : carrier(io), timer(io) {}
        };
        auto op = std::make_shared<PassOp>(io);
        boost::system::error_code ec;
        op->carrier.assign(asio::generic::stream_protocol(AF_UNIX, 0), carrier.get(), ec);
        if (ec) {
            msg_warn("pass_accept_attr: cannot receive file descriptor: %s", ec.message().c_str());
            return;
        }
        carrier.release();
        op->timer.expires_after(kPassTimeout);
        op->timer.async_wait([op](const boost::system::error_code& ec) {
            if (ec) return;
            boost::system::error_code ignored;
            op->carrier.cancel(ignored);
        });
        wait_for_fd(op);
    }

    template <class Op> void wait_for_fd(std::shared_ptr<Op> op) {
        op->carrier.async_wait(Socket::wait_read, [self = shared_from_this(), op](const boost::system::error_code& ec) {
            if (ec == asio::error::operation_aborted && !self->stopped) {
                msg_warn("pass_accept_attr: timeout receiving file descriptor");
                return;
            }
            if (ec || self->stopped) return;
            int err = recv_fd(op->carrier.native_handle(), op->fd);
            if (err == EAGAIN || err == EWOULDBLOCK) return self->wait_for_fd(op);
            if (err != 0) {
                msg_warn("pass_accept_attr: cannot receive file descriptor: %s", std::strerror(err));
                return;
            }
            async_attr_read(op->carrier, "pass", kPassTimeout, [self, op](AttrReadResult r) {
                op->timer.cancel();
                if (self->stopped || self->draining) return;
                AttrHash attrs;
                if (r) {
                    auto scan = attr_scan(r.attrs, "pass", 0, {attr::recv_hash(attrs)});
                    if (scan.conversions < 0) r.error = asio::error::invalid_argument;
                }
                if (!r) {
                    msg_warn("pass_accept_attr: cannot receive connection attributes: %s", r.error.message().c_str());
                    return;
                }
                Connection conn;
                set_non_blocking(op->fd.get());
                conn.fd = std::move(op->fd);
                conn.pass_attrs = std::move(attrs);
                self->deliver(std::move(conn));
            });
        });
    }
};

} // namespace daemon_detail

using daemon_detail::Core;

// ---------------------------------------------------------------- ClientSlot

ClientSlot& ClientSlot::operator=(ClientSlot&& other) noexcept {
    if (this != &other) {
        release();
        core_ = std::move(other.core_);
        other.core_.reset();
    }
    return *this;
}

ClientSlot::~ClientSlot() {
    release();
}

void ClientSlot::release() {
    if (auto core = core_.lock()) core->client_finished();
    core_.reset();
}

// ---------------------------------------------------------------- DaemonHost

Connection daemon_detail::Core::make(Connection base) {
    client_started();
    base.slot = ClientSlot(weak_from_this());
    return base;
}

Connection::Socket Connection::take_socket(asio::io_context& io) {
    return adopt_socket(io, fd, peer_length > 0 ? peer.ss_family : AF_UNSPEC);
}

Connection::Socket Connection::adopt_socket(asio::io_context& io, UniqueFd& fd, int family) {
    Socket socket(io);
    if (!fd) return socket;
    if (family == AF_UNSPEC) family = protocol_of(fd.get()).family();
    boost::system::error_code ec;
    socket.assign(asio::generic::stream_protocol(family, 0), fd.get(), ec);
    if (ec) {
        msg_warn("cannot watch a client connection: %s", ec.message().c_str());
        fd.reset();
        return socket;
    }
    fd.release();
    return socket;
}

DaemonHost::DaemonHost(asio::io_context& io, Config config, DaemonSpec spec, DaemonOptions options)
    : core_(std::make_shared<Core>(io, std::move(config), spec, std::move(options))) {
    core_->max_idle = core_->config.get_time("max_idle");
    core_->max_use = core_->spec.unlimited_use ? 0 : core_->config.get_int("max_use");
}

DaemonHost::~DaemonHost() {
    boost::system::error_code ignored;
    core_->stopped = true;
    for (auto& l : core_->listeners)
        l->acceptor.close(ignored);
    if (core_->status) core_->status->close(ignored);
}

asio::io_context& DaemonHost::io() const {
    return core_->io;
}
const Config& DaemonHost::config() const {
    return core_->config;
}
const DaemonSpec& DaemonHost::spec() const {
    return core_->spec;
}
const DaemonOptions& DaemonHost::options() const {
    return core_->options;
}
const std::string& DaemonHost::service_name() const {
    return core_->options.service_name;
}
int DaemonHost::active_clients() const {
    return core_->clients;
}
long DaemonHost::use_count() const {
    return core_->uses;
}
int DaemonHost::exit_status() const {
    return core_->exit_status;
}
void DaemonHost::request_exit(int status) {
    core_->stop(status);
}

Connection DaemonHost::make_connection(int fd, AttrHash pass_attrs) {
    Connection conn;
    set_non_blocking(fd);
    conn.fd.reset(fd);
    conn.pass_attrs = std::move(pass_attrs);
    return core_->make(std::move(conn));
}

void DaemonHost::attach_status_channel(int fd, unsigned generation) {
    core_->status.emplace(core_->io, fd);
    core_->generation = generation;
}

void DaemonHost::add_listener(int fd, std::string_view transport) {
    auto l = std::make_unique<daemon_detail::Listener>(core_->io);
    l->pass = iequals(transport, "pass");
    boost::system::error_code ec;
    l->acceptor.assign(protocol_of(fd), fd, ec);
    if (ec) msg_fatal("listen socket on file descriptor %d: %s", fd, ec.message().c_str());
    l->acceptor.non_blocking(true, ec);
    if (!l->pass) l->local_length = fixed_local_address(fd, l->local);
    core_->listeners.push_back(std::move(l));
}

void DaemonHost::start(Daemon& daemon) {
    core_->daemon = &daemon;
    core_->started = true;
    core_->watch_status();
    core_->arm_retire_timer();
    if (core_->clients == 0) core_->arm_idle_timer();
    core_->arm_all();
}

void DaemonHost::drain() {
    core_->begin_drain();
}

bool DaemonHost::fork_to_background() {
    core_->io.notify_fork(asio::io_context::fork_prepare);
    pid_t pid = ::fork();
    if (pid < 0) {
        core_->io.notify_fork(asio::io_context::fork_parent);
        return false;
    }
    if (pid > 0) ::_exit(0);
    core_->io.notify_fork(asio::io_context::fork_child);
    return true;
}

} // namespace psm
