// master's process life cycle (see master_main.hpp).
#include "master_main.hpp"

#include "options.hpp"
#include "pid_file.hpp"
#include "service_plan.hpp"
#include "supervisor.hpp"

#include "psm/global/maillog.hpp"
#include "psm/global/version.hpp"
#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/signals.hpp"

#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace psm::master {

namespace {

namespace asio = boost::asio;

constexpr int kInitTimeout = 100; // -w: seconds the foreground process waits

const char* errno_text() {
    return std::strerror(errno);
}

std::vector<std::string> environment_snapshot() {
    std::vector<std::string> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e)
        out.emplace_back(*e);
    return out;
}

// Makes sure 0, 1 and 2 are open, so that no descriptor of ours ends up
// there (and in the children's stdio).
void ensure_stdio() {
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0) continue;
        int n = ::open("/dev/null", O_RDWR);
        if (n >= 0 && n != fd) {
            ::dup2(n, fd);
            ::close(n);
        }
    }
}

void configure_logging(const std::string& program, const Config* config, bool also_stderr) {
    LogConfig lc;
    lc.program = program;
    if (config != nullptr) lc = maillog_config(*config, program);
    lc.also_stderr = also_stderr;
    try {
        log_configure(lc);
    } catch (const std::system_error& e) {
        msg_fatal("%s", e.what());
    } catch (const std::invalid_argument& e) {
        msg_fatal("%s", e.what());
    }
}

// -w: the foreground process waits here for the background master's
// "initialized" byte; returns (in the background master) the descriptor to
// write it to.
int monitor_startup() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) msg_fatal("pipe: %s", errno_text());
    pid_t pid = ::fork();
    if (pid < 0) msg_fatal("fork: %s", errno_text());
    if (pid == 0) {
        ::close(p[0]);
        return p[1];
    }
    ::close(p[1]);
    pollfd w{};
    w.fd = p[0];
    w.events = POLLIN;
    int ready = ::poll(&w, 1, kInitTimeout * 1000);
    char byte = 1;
    if (ready < 0) msg_fatal("%s while waiting for daemon initialization", errno_text());
    if (ready == 0 || ::read(p[0], &byte, 1) != 1) msg_fatal("daemon initialization failure -- see logs for details");
    std::_Exit(0);
}

// Creates data_directory when missing (as `postfix start` would), owned by
// mail_owner, mode 0700.
void ensure_data_directory(const MasterSettings& s) {
    struct stat st;
    if (::stat(s.data_directory.c_str(), &st) == 0) return;
    if (errno != ENOENT) return;
    if (::mkdir(s.data_directory.c_str(), 0700) < 0) return; // open_lock reports the problem
    if (::chown(s.data_directory.c_str(), s.owner_uid, s.owner_gid) < 0)
        msg_warn("chown %s: %s", s.data_directory.c_str(), errno_text());
}

// Holds the two lock files for the life of the process.
struct Locks {
    UniqueFd pid_lock;
    UniqueFd data_lock;
};

Locks take_locks(const MasterSettings& s) {
    Locks locks;
    std::string why;
    // First: process_id_directory may be data_directory (the bundled
    // configuration), which a fresh install does not have yet.
    ensure_data_directory(s);
    locks.pid_lock = open_lock(s.pid_file, why);
    if (!locks.pid_lock) msg_fatal("open lock file %s: %s", s.pid_file.c_str(), why.c_str());
    if (!write_pid(locks.pid_lock.get(), ::getpid()))
        msg_fatal("cannot update lock file %s: %s", s.pid_file.c_str(), errno_text());

    // The data directory belongs to mail_owner: the lock file too.
    // As stock's set_eugid(): the group list becomes the one group, both ways.
    if (::setegid(s.owner_gid) < 0 || ::setgroups(1, &s.owner_gid) < 0 || ::seteuid(s.owner_uid) < 0)
        msg_fatal("set_eugid: %s", errno_text());
    locks.data_lock = open_lock(s.lock_file, why);
    const int saved = errno;
    const gid_t root_gid = ::getgid();
    if (::seteuid(::getuid()) < 0 || ::setegid(root_gid) < 0 || ::setgroups(1, &root_gid) < 0)
        msg_fatal("set_ugid: %s", errno_text());
    errno = saved;
    if (!locks.data_lock) msg_fatal("open lock file %s: %s", s.lock_file.c_str(), why.c_str());
    if (!write_pid(locks.data_lock.get(), ::getpid()))
        msg_fatal("cannot update lock file %s: %s", s.lock_file.c_str(), errno_text());
    return locks;
}

[[noreturn]] void die_on_signal(int sig, Supervisor& supervisor) {
    msg_info("terminating on signal %d", sig);
    supervisor.terminate_children();
    std::signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(sig);
    std::_Exit(1);
}

} // namespace

int master_main(int argc, char** argv) {
    ::umask(077);
    std::signal(SIGPIPE, SIG_IGN);
    if (std::getenv("MAIL_VERBOSE")) msg_verbose = 1;
    ensure_stdio();

    std::vector<std::string> args(argv, argv + argc);
    configure_logging(args.empty() ? MasterOptions().program : parse_master_options({args[0]}).program, nullptr, true);

    if (::getuid() != 0) msg_fatal("the master command is reserved for the superuser");
    if (::geteuid() != ::getuid()) msg_fatal("the master command must not run as a set-uid process");

    MasterOptions opts;
    try {
        opts = parse_master_options(args, ::getpid() == 1);
    } catch (const UsageError& e) {
        if (!e.getopt_message.empty()) std::fprintf(stderr, "%s\n", e.getopt_message.c_str());
        msg_fatal("%s", e.text.c_str());
    }
    msg_verbose += opts.verbose;
    std::string config_dir = opts.config_dir;
    if (config_dir.empty()) {
        const char* env = std::getenv("MAIL_CONFIG");
        config_dir = env && *env ? env : kDefaultConfigDir;
    }
    // Children and reloads read it after master moved to queue_directory.
    if (config_dir.front() != '/') {
        char cwd[4096];
        if (::getcwd(cwd, sizeof(cwd)) == nullptr) msg_fatal("getcwd: %s", errno_text());
        config_dir = std::string(cwd) + "/" + config_dir;
    }
    ::setenv("MAIL_CONFIG", config_dir.c_str(), 1);
    if (opts.debug) msg_warn("-D: psmaster runs no debugger; option ignored");

    int monitor_fd = opts.wait ? monitor_startup() : -1;
    if (opts.detach) {
        for (int fd = 0; fd < 3; ++fd) {
            if (fd == STDOUT_FILENO && opts.keep_stdout) continue;
            int n = ::open("/dev/null", O_RDWR);
            if (n < 0) msg_fatal("open /dev/null: %s", errno_text());
            if (n != fd) {
                ::dup2(n, fd);
                ::close(n);
            }
        }
        if (!opts.init_mode && ::setsid() == -1 && ::getsid(0) != ::getpid())
            msg_fatal("unable to set session and process group ID: %s", errno_text());
    }
    configure_logging(opts.program, nullptr, !opts.detach);

    PlanOptions plan_options;
    plan_options.program = opts.program;
    plan_options.detached = opts.detach;
    plan_options.verbose = msg_verbose > 0;
    plan_options.environment = environment_snapshot();

    auto load = [&]() {
        Config config = Config::load(config_dir);
        // Fatal at start-up, the running config stays on reload.
        if (auto problem = maillog_file_problem(config)) throw ConfigError(*problem);
        configure_logging(opts.program, &config, !opts.detach);
        MasterCf master_cf = read_master_cf(config_dir + "/master.cf", config);
        return build_master_plan(config, master_cf, plan_options);
    };
    MasterPlan plan;
    try {
        plan = load();
    } catch (const ConfigError& e) {
        msg_fatal("%s", e.what());
    }
    for (const std::string& w : plan.warnings)
        msg_warn("%s", w.c_str());
    for (const std::string& n : plan.notes)
        msg_info("%s", n.c_str());

    const MasterSettings& settings = plan.settings;
    if (::chdir(settings.queue_directory.c_str()) < 0)
        msg_fatal("chdir %s: %s", settings.queue_directory.c_str(), errno_text());

    if (opts.test_lock) return lock_is_held(settings.pid_file) ? 1 : 0;
    Locks locks = take_locks(settings);

    asio::io_context io(1);
    ListenIdentity who;
    who.uid = settings.owner_uid;
    who.gid = settings.owner_gid;
    who.switch_ids = true;
    Supervisor supervisor(io, std::move(plan), who);

    SignalHandlers signals(io);
    signals.on(SIGCHLD, [&supervisor](int) { supervisor.reap(); });
    for (int sig : {SIGTERM, SIGINT, SIGQUIT})
        signals.on(sig, [&supervisor](int signo) { die_on_signal(signo, supervisor); });
    signals.on(SIGHUP, [&](int) {
        msg_info("reload -- version %s, configuration %s", psmaster_version(), config_dir.c_str());
        try {
            MasterPlan next = load();
            if (next.settings.queue_directory != supervisor.plan().settings.queue_directory)
                throw ConfigError("queue_directory changed to " + next.settings.queue_directory +
                                  ": stop and start master to change it");
            for (const std::string& w : next.warnings)
                msg_warn("%s", w.c_str());
            for (const std::string& n : next.notes)
                msg_info("%s", n.c_str());
            supervisor.reload(std::move(next));
        } catch (const ConfigError& e) {
            msg_error("%s", e.what());
            msg_warn("configuration reload failed -- keeping the running configuration");
        }
    });

    try {
        supervisor.start();
    } catch (const ConfigError& e) {
        msg_fatal("%s", e.what());
    }

    asio::steady_timer exit_timer(io);
    if (opts.exit_time >= 0) {
        exit_timer.expires_after(std::chrono::seconds(opts.exit_time));
        exit_timer.async_wait([](const boost::system::error_code& ec) {
            if (ec) return;
            msg_info("master exit time has arrived");
            std::exit(0);
        });
    }

    msg_info("daemon started -- version %s, configuration %s", psmaster_version(), config_dir.c_str());
    if (monitor_fd >= 0) {
        char byte = 0;
        if (::write(monitor_fd, &byte, 1) != 1) msg_warn("write to start-up monitor: %s", errno_text());
        ::close(monitor_fd);
    }
    supervisor.reap(); // children that went before SIGCHLD was caught (none yet, normally)
    io.run();
    return 0;
}

} // namespace psm::master
