// Listen sockets for master's services (see listeners.hpp).
#include "listeners.hpp"

#include "psm/util/error.hpp"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace psm::master {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

[[noreturn]] void fail(const std::string& text) {
    throw ListenError(text, errno);
}

// Effective user and group of the mail owner while the object lives.
class AsOwner {
public:
    explicit AsOwner(const ListenIdentity& who) : active_(who.switch_ids) {
        if (!active_) return;
        if (::setegid(who.gid) < 0) fail("setegid(" + std::to_string(who.gid) + "): " + errno_text());
        // As stock's set_eugid(): root's supplementary groups go as well.
        if (::setgroups(1, &who.gid) < 0) fail("setgroups(" + std::to_string(who.gid) + "): " + errno_text());
        if (::seteuid(who.uid) < 0) {
            const std::string why = errno_text();
            const gid_t gid = ::getgid();
            (void)::setegid(gid);
            (void)::setgroups(1, &gid);
            throw ListenError("seteuid(" + std::to_string(who.uid) + "): " + why, EPERM);
        }
    }
    ~AsOwner() {
        if (!active_) return;
        // Back to root: failing here would leave master crippled.
        const gid_t gid = ::getgid();
        if (::seteuid(::getuid()) < 0 || ::setegid(gid) < 0 || ::setgroups(1, &gid) < 0) std::abort();
    }
    AsOwner(const AsOwner&) = delete;
    AsOwner& operator=(const AsOwner&) = delete;

private:
    bool active_;
};

UniqueFd open_inet(const InetAddr& addr, std::uint16_t port, int backlog) {
    sockaddr_storage ss{};
    socklen_t len = addr.to_sockaddr(ss, port);
    UniqueFd fd(::socket(addr.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) fail("socket: " + errno_text());
    int on = 1;
    if (addr.is_v6() && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
        fail("setsockopt(IPV6_V6ONLY): " + errno_text());
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        fail("setsockopt(SO_REUSEADDR): " + errno_text());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) < 0)
        fail("bind " + addr.to_string() + " port " + std::to_string(port) + ": " + errno_text());
    if (::listen(fd.get(), backlog) < 0) fail("listen: " + errno_text());
    return fd;
}

sockaddr_un unix_address(const std::string& path, const char* context) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sun.sun_path))
        throw ListenError(std::string(context) + "unix-domain name too long: " + path, ENAMETOOLONG);
    std::memcpy(sun.sun_path, path.data(), path.size());
    return sun;
}

UniqueFd open_unix(const std::string& path, int type, int backlog) {
    const bool dgram = type == SOCK_DGRAM;
    const char* context = dgram ? "unix_dgram_listen: " : "";
    sockaddr_un sun = unix_address(path, context);
    UniqueFd fd(::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) fail(std::string(context) + "socket: " + errno_text());
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) fail("remove " + path + ": " + errno_text());
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) < 0)
        fail("bind: " + path + ": " + errno_text());
    // Linux ignores fchmod() on a socket: the mode of the name is what counts.
    if (::chmod(path.c_str(), 0666) < 0) fail("chmod socket " + path + ": " + errno_text());
    if (!dgram && ::listen(fd.get(), backlog) < 0) fail("listen: " + errno_text());
    return fd;
}

UniqueFd open_fifo(const std::string& path) {
    constexpr mode_t kMode = 0622;
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) fail("fifo_listen: remove " + path + ": " + errno_text());
    if (::mkfifo(path.c_str(), kMode) < 0) fail("fifo_listen: create fifo " + path + ": " + errno_text());
    // Read-write keeps the fifo from reporting EOF when writers come and go.
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd) fail("fifo_listen: open " + path + ": " + errno_text());
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) fail("fifo_listen: fstat " + path + ": " + errno_text());
    if (!S_ISFIFO(st.st_mode)) throw ListenError("fifo_listen: not a fifo: " + path, EINVAL);
    if (::fchmod(fd.get(), kMode) < 0) fail("fifo_listen: fchmod " + path + ": " + errno_text());
    // Skip whatever was written before we opened it (bounded).
    char junk[512];
    for (int i = 0; i < 64 && ::read(fd.get(), junk, sizeof(junk)) > 0; ++i) {
    }
    return fd;
}

} // namespace

UniqueFd open_listener(const ServicePlan& service, std::size_t index, int backlog, const ListenIdentity& who) {
    switch (service.type) {
    case ServiceType::inet:
        return open_inet(service.addresses.at(index), service.port, backlog);
    case ServiceType::unix_stream:
    case ServiceType::pass: {
        AsOwner as(who);
        return open_unix(service.name, SOCK_STREAM, backlog);
    }
    case ServiceType::unix_dgram: {
        AsOwner as(who);
        return open_unix(service.name, SOCK_DGRAM, backlog);
    }
    case ServiceType::fifo: {
        AsOwner as(who);
        return open_fifo(service.name);
    }
    }
    throw ListenError("unknown service type", EINVAL);
}

std::vector<UniqueFd> open_listeners(const ServicePlan& service, int backlog, const ListenIdentity& who) {
    std::vector<UniqueFd> fds;
    for (int i = 0; i < service.listen_fd_count(); ++i)
        fds.push_back(open_listener(service, static_cast<std::size_t>(i), backlog, who));
    return fds;
}

} // namespace psm::master
