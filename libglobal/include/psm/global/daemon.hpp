// The daemon skeleton shared by postscreen, dnsblog and tlsproxy: Postfix's
// child command line, configuration and logging set-up, the master <-> child
// protocol (status channel on fd 5, listen sockets from fd 6, GENERATION),
// privilege drop and chroot, idle/use limits, and a single-threaded
// boost::asio::io_context that hands each new connection to the daemon.
//
// A daemon is a class derived from psm::Daemon, made by a factory that the
// skeleton calls as root with cwd = queue_directory ("pre-jail": open
// tables, caches, files); post_jail() runs after chroot/setuid. main() is
//
//   int main(int argc, char** argv) {
//       psm::DaemonSpec spec;
//       spec.process_limit = psm::DaemonSpec::Limit::zero;   // insists on -z
//       return psm::daemon_main(argc, argv, spec, [](psm::DaemonHost& host) {
//           return std::make_unique<MyDaemon>(host);
//       });
//   }
//
// Command line (stock's, getopt-style, options may be clustered):
//   -c chroot to queue_directory   -d don't detach (allows a tty on stdin)
//   -D debug (accepted, ignored)   -i N max_idle    -l process limit is 1
//   -m N max_use   -n NAME service name   -o NAME=VALUE parameter override
//   -r N retire after N seconds    -s N listen sockets (fds 6..6+N-1)
//   -S stand-alone: serve stdin/stdout as one connection
//   -t inet|unix|pass transport    -u drop to mail_owner   -v verbose
//   -V log to stderr too           -z process limit is 0
// psmaster extension, for tests and debugging (stock has no such option):
//   -L inet:HOST:PORT | -L inet:[V6]:PORT | -L unix:PATH   (repeatable)
//      the daemon creates these listeners itself and runs without master:
//      no status channel, no fd 3-6 inheritance, no -l/-z requirement.
//
// Unit tests drive a daemon in-process: construct a DaemonHost from an
// io_context, a Config and a DaemonSpec, build the daemon with it, and feed
// it sockets with host.make_connection().
#pragma once

#include "psm/global/attr.hpp"
#include "psm/global/main_cf.hpp"
#include "psm/util/unique_fd.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace psm {

// ---------------------------------------------------------------- command line

struct DaemonOptions {
    std::string program;       // basename of argv[0]
    std::string service_name;  // -n, default program
    std::string transport;     // -t (empty when not given)
    bool chroot = false;       // -c
    bool no_detach = false;    // -d
    bool debug = false;        // -D
    bool limit_one = false;    // -l
    bool limit_zero = false;   // -z
    bool stand_alone = false;  // -S
    bool unprivileged = false; // -u
    bool log_stderr = false;   // -V
    int verbose = 0;           // number of -v
    int socket_count = 1;      // -s
    long retire = 0;           // -r, seconds; 0 = never
    // -i, -m and -o in command-line order, as (name, value) updates
    // applied over main.cf (-i N is max_idle=N, -m N is max_use=N).
    std::vector<std::pair<std::string, std::string>> settings;
    std::vector<std::string> listen; // -L endpoints (psmaster extension)
    std::vector<std::string> args;   // arguments after the options
};

// Parses argv as stock's skeleton does. Throws ConfigError with stock's
// fatal text: "invalid option: x" (unknown option or missing argument),
// "invalid \"-o foo\" option value: missing '=' after attribute name",
// "invalid socket_count: 0", "invalid retirement time: x".
DaemonOptions parse_daemon_options(const std::vector<std::string>& argv);

// ---------------------------------------------------------------- master protocol

enum class MasterStatus : std::int32_t { taken = 0, avail = 1 };

// The 12-byte status message: int32 pid, uint32 generation, int32 status,
// host byte order.
std::array<char, 12> master_status_message(pid_t pid, unsigned generation, MasterStatus status);

// GENERATION from the environment: octal digits. nullopt when malformed.
std::optional<unsigned> parse_generation(std::string_view text);

// ---------------------------------------------------------------- daemon API

struct DaemonSpec {
    enum class Kind {
        event,  // many concurrent connections (postscreen, tlsproxy)
        single, // one connection at a time (dnsblog)
    };
    enum class Limit { any, one, zero };
    Kind kind = Kind::event;
    Limit process_limit = Limit::any; // one: needs -l; zero: needs -z
    bool unlimited_use = false;       // ignore max_use (dnsblog)
    bool accepts_arguments = false;   // else "unexpected command-line argument: X"
};

class DaemonHost;

namespace daemon_detail {
struct Core;
}

// Counts one client towards the skeleton's bookkeeping (idle timer, max_use,
// single-server busy state, draining) for as long as it lives. Move-only.
class ClientSlot {
public:
    ClientSlot() = default;
    ClientSlot(ClientSlot&&) noexcept = default;
    ClientSlot& operator=(ClientSlot&& other) noexcept;
    ~ClientSlot();
    void release(); // the session is over (same as destroying the slot)

private:
    friend struct daemon_detail::Core;
    explicit ClientSlot(std::weak_ptr<daemon_detail::Core> core) : core_(std::move(core)) {}
    std::weak_ptr<daemon_detail::Core> core_;
};

// A new client: its socket as a plain descriptor, so that a daemon that
// needs no readiness wait on it (postscreen handing a known client to
// smtpd) never registers it with the event loop; take_socket() does that.
struct Connection {
    using Socket = boost::asio::generic::stream_protocol::socket;
    UniqueFd fd;               // non-blocking, close-on-exec
    sockaddr_storage peer{};   // the peer's address as accept() gave it,
    socklen_t peer_length = 0; // or 0: not known (ask getpeername())
    sockaddr_storage local{};   // the listener's own address, when every
    socklen_t local_length = 0; // connection has it; or 0 (ask getsockname())
    AttrHash pass_attrs;       // -t pass: the attributes that came with the descriptor
    ClientSlot slot;           // keep for the whole session

    // `fd` as an Asio socket of io (registered with its reactor); `fd` is
    // empty afterwards. On error (no memory for the registration, or `fd`
    // was empty) the socket is not open and `fd` is closed.
    Socket take_socket(boost::asio::io_context& io);
    // The same for any descriptor; `family` AF_UNSPEC: ask getsockname().
    static Socket adopt_socket(boost::asio::io_context& io, UniqueFd& fd, int family = AF_UNSPEC);
};

class Daemon {
public:
    virtual ~Daemon() = default;
    // After chroot and privilege drop (stock's post-jail init).
    virtual void post_jail() {}
    // A new client. Keep connection.slot until the session ends.
    virtual void accept(Connection connection) = 0;
    // The master went away or reloaded (EOF on fd 5), or it is time to
    // retire; listeners are already closed. Return true to keep running
    // until every slot is released, false to exit now (the default).
    virtual bool drain() { return false; }
    // Just before a normal exit.
    virtual void on_exit() {}
};

// What the skeleton offers a daemon, and the in-process test harness.
class DaemonHost {
public:
    DaemonHost(boost::asio::io_context& io, Config config, DaemonSpec spec, DaemonOptions options = {});
    ~DaemonHost();
    DaemonHost(const DaemonHost&) = delete;
    DaemonHost& operator=(const DaemonHost&) = delete;

    boost::asio::io_context& io() const;
    const Config& config() const;
    const DaemonSpec& spec() const;
    const DaemonOptions& options() const;
    const std::string& service_name() const;

    // Wraps a connected socket (taking ownership) as the skeleton would
    // after accept(); the slot counts towards this host. The descriptor is
    // made non-blocking; the peer address is left to getpeername().
    Connection make_connection(int fd, AttrHash pass_attrs = {});

    int active_clients() const;
    long use_count() const;
    // Stops the event loop; daemon_main() then returns status.
    void request_exit(int status = 0);
    int exit_status() const;
    // Forks; the parent exits at once (status 0) so that master can start a
    // replacement, the child returns true and carries on (stock
    // event_server_drain). false if fork failed.
    bool fork_to_background();
    // Starts the drain a master EOF starts: listeners and the status channel
    // close, then Daemon::drain() decides (postscreen: a lookup table
    // changed). No effect when already draining or stopped.
    void drain();

    // Wiring done by daemon_main(), public for tests. Each takes ownership
    // of the descriptor.
    void attach_status_channel(int fd, unsigned generation); // fd 5 under master
    void add_listener(int fd, std::string_view transport);   // "inet", "unix" or "pass"
    // Arms listeners, the status watch, the idle and retire timers.
    void start(Daemon& daemon);

private:
    std::shared_ptr<daemon_detail::Core> core_;
};

using DaemonFactory = std::function<std::unique_ptr<Daemon>(DaemonHost& host)>;

// The whole start-up and event loop; returns the exit status. Start-up
// errors (a ConfigError, bad options) are logged as "fatal: TEXT" and exit 1.
int daemon_main(int argc, char** argv, const DaemonSpec& spec, const DaemonFactory& factory);

} // namespace psm
