// daemon_main(): a Postfix child's start-up in stock's order (command line,
// main.cf + overrides, logging, sanity checks, GENERATION, cwd, pre-jail
// factory, chroot + setuid, post-jail), then the event loop.
#include "daemon_private.hpp"

#include "psm/global/maillog.hpp"

#include "psm/util/error.hpp"
#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace psm {

namespace {

constexpr int kStatusFd = 5;
constexpr int kFirstListenFd = 6;
constexpr int kFlowReadFd = 3;
constexpr int kFlowWriteFd = 4;

const char* errno_text() {
    return std::strerror(errno);
}

void set_close_on_exec(int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

LogConfig log_config(const Config& config, const DaemonOptions& options) {
    LogConfig lc = maillog_config(config, options.program);
    lc.also_stderr = options.log_stderr;
    return lc;
}

void configure_logging(const Config& config, const DaemonOptions& options) {
    LogConfig lc = log_config(config, options);
    const std::optional<std::string> problem = maillog_file_problem(config);
    if (problem) lc.maillog_file.clear(); // say it where stock's postlog would: syslog
    try {
        log_configure(lc);
    } catch (const std::system_error& e) {
        msg_fatal("%s", e.what());
    } catch (const std::invalid_argument& e) {
        msg_fatal("%s", e.what());
    }
    if (problem) msg_fatal("%s", problem->c_str());
}

struct MailOwner {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

// Stock's mail_params_init() check, done whether or not -u is given.
MailOwner lookup_mail_owner(const Config& config) {
    MailOwner owner;
    owner.name = config.get_str("mail_owner");
    const passwd* pw = ::getpwnam(owner.name.c_str());
    std::string where = "file " + config.config_directory() + "/main.cf: parameter mail_owner: ";
    if (pw == nullptr) throw ConfigError(where + "unknown user name value: " + owner.name);
    if (pw->pw_uid == 0) throw ConfigError(where + "user " + owner.name + " has privileged user ID");
    owner.uid = pw->pw_uid;
    owner.gid = pw->pw_gid;
    return owner;
}

// Stock's chroot_uid(): chroot first (still root), then the user's groups and ids.
void drop_privileges(const std::string* root_dir, const MailOwner* user) {
    if (root_dir) {
        if (::chroot(root_dir->c_str()) < 0) msg_fatal("chroot(%s): %s", root_dir->c_str(), errno_text());
        if (::chdir("/") < 0) msg_fatal("chdir(/): %s", errno_text());
    }
    if (user) {
        if (::setgid(user->gid) < 0) msg_fatal("setgid(%ld): %s", static_cast<long>(user->gid), errno_text());
        if (::initgroups(user->name.c_str(), user->gid) < 0) msg_fatal("initgroups: %s", errno_text());
        if (::setuid(user->uid) < 0) msg_fatal("setuid(%ld): %s", static_cast<long>(user->uid), errno_text());
    }
    if (msg_verbose)
        msg_info("chroot %s user %s", root_dir ? root_dir->c_str() : "(none)", user ? user->name.c_str() : "(none)");
}

std::vector<std::string> argv_vector(int argc, char** argv) {
    std::vector<std::string> out;
    for (int i = 0; i < argc; ++i)
        out.emplace_back(argv[i]);
    return out;
}

int run(int argc, char** argv, const DaemonSpec& spec, const DaemonFactory& factory) {
    // Logging before main.cf is read: syslog under the program's name.
    std::vector<std::string> args = argv_vector(argc, argv);
    DaemonOptions options;
    options.program = parse_daemon_options({args.empty() ? std::string("postfix") : args[0]}).program;
    {
        LogConfig early;
        early.program = options.program;
        log_configure(early);
    }
    if (std::getenv("MAIL_VERBOSE")) msg_verbose = 1;

    const char* dir = std::getenv("MAIL_CONFIG");
    Config config = Config::load(dir && *dir ? dir : "/etc/postfix");
    configure_logging(config, options);

    try {
        options = parse_daemon_options(args);
    } catch (const ConfigError&) {
        // Stock logs to stderr too when -V came before the bad option.
        for (std::size_t i = 1; i < args.size() && args[i].starts_with('-'); ++i)
            if (args[i].find('V') != std::string::npos && args[i].find_first_not_of("-cdDlSuvVz") == std::string::npos)
                options.log_stderr = true;
        configure_logging(config, options);
        throw;
    }
    for (const auto& [name, value] : options.settings)
        config.set_override(name, value);
    msg_verbose += options.verbose;
    configure_logging(config, options);

    MailOwner owner = lookup_mail_owner(config);
    const bool master_child = !options.stand_alone && options.listen.empty();

    if (!options.no_detach && master_child && ::isatty(STDIN_FILENO)) {
        LogConfig lc = log_config(config, options);
        lc.also_stderr = true;
        log_configure(lc);
        msg_fatal("do not run this command by hand");
    }
    if (master_child && spec.process_limit == DaemonSpec::Limit::one && !options.limit_one)
        msg_fatal("service %s requires a process limit of 1", options.service_name.c_str());
    if (master_child && spec.process_limit == DaemonSpec::Limit::zero && !options.limit_zero)
        msg_fatal("service %s requires a process limit of 0", options.service_name.c_str());
    if (!spec.accepts_arguments && !options.args.empty())
        msg_fatal("unexpected command-line argument: %s", options.args.front().c_str());
    if (master_child) {
        if (options.transport.empty()) msg_fatal("no transport type specified");
        if (!iequals(options.transport, "inet") && !iequals(options.transport, "unix") &&
            !iequals(options.transport, "pass"))
            msg_fatal("unsupported transport type: %s", options.transport.c_str());
    }
    unsigned generation = 0;
    if (const char* gen = std::getenv("GENERATION")) {
        auto parsed = parse_generation(gen);
        if (!parsed) msg_fatal("bad generation: %s", gen);
        generation = *parsed;
        if (msg_verbose) msg_info("process generation: %s (%o)", gen, generation);
    }

    const std::string queue_dir = config.get_str("queue_directory");
    if (::chdir(queue_dir.c_str()) < 0) msg_fatal("chdir(\"%s\"): %s", queue_dir.c_str(), errno_text());

    boost::asio::io_context io(1);
    // The maillog_file lines of one turn of the loop go out in one write;
    // batching ends before the loop is gone.
    struct BatchedLog {
        explicit BatchedLog(boost::asio::io_context& io) {
            log_batch_writes([&io] { boost::asio::post(io, [] { log_flush(); }); });
        }
        ~BatchedLog() { log_batch_writes({}); }
        BatchedLog(const BatchedLog&) = delete;
        BatchedLog& operator=(const BatchedLog&) = delete;
    } batched_log(io);
    DaemonHost host(io, config, spec, options);

    // Descriptors from master: close-on-exec, and ours from here on.
    if (master_child) {
        for (int fd : {kFlowReadFd, kFlowWriteFd, kStatusFd})
            set_close_on_exec(fd);
        for (int i = 0; i < options.socket_count; ++i) {
            set_close_on_exec(kFirstListenFd + i);
            host.add_listener(kFirstListenFd + i, options.transport);
        }
        struct stat st;
        if (::fstat(kStatusFd, &st) == 0) host.attach_status_channel(kStatusFd, generation);
    }
    for (const auto& endpoint : options.listen) {
        std::string transport;
        int fd = daemon_detail::open_listener(endpoint, transport);
        host.add_listener(fd, transport);
    }

    std::unique_ptr<Daemon> daemon = factory(host); // pre-jail, as root, cwd = queue_directory
    ::tzset();
    drop_privileges(options.chroot ? &queue_dir : nullptr, options.unprivileged ? &owner : nullptr);
    daemon->post_jail();

    boost::asio::signal_set signals(io, SIGTERM);
    signals.async_wait([&host](const boost::system::error_code& ec, int) {
        if (!ec) host.request_exit(0);
    });

    if (options.stand_alone) {
        int fd = -1;
        try {
            fd = daemon_detail::start_stdio_relay(io, [&host] { host.request_exit(0); });
        } catch (const boost::system::system_error& e) {
            msg_fatal("stand-alone mode: stdin/stdout: %s", e.what());
        }
        daemon->accept(host.make_connection(fd));
    } else {
        host.start(*daemon);
    }
    io.run();
    daemon->on_exit();
    return host.exit_status();
}

} // namespace

int daemon_main(int argc, char** argv, const DaemonSpec& spec, const DaemonFactory& factory) {
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    try {
        return run(argc, argv, spec, factory);
    } catch (const ConfigError& e) {
        msg_fatal("%s", e.what());
    }
}

} // namespace psm
