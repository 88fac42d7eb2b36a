// Listening sockets that a daemon creates itself for psmaster's -L option
// (stand-alone runs without master): TCP on a host:port, or a UNIX-domain
// socket at a path (mode 0666 like master's).
#include "daemon_private.hpp"

#include "psm/util/error.hpp"
#include "psm/util/unique_fd.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace psm::daemon_detail {

namespace {

constexpr int kBacklog = 100;

[[noreturn]] void fail(const std::string& endpoint, const std::string& why) {
    throw ConfigError("listen endpoint " + endpoint + ": " + why);
}

int open_inet(const std::string& endpoint, std::string_view spec) {
    auto colon = spec.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == spec.size()) fail(endpoint, "expected inet:host:port");
    std::string host(spec.substr(0, colon));
    std::string port(spec.substr(colon + 1));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) fail(endpoint, ::gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
    UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) fail(endpoint, std::strerror(errno));
    int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (res->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) < 0 || ::listen(fd.get(), kBacklog) < 0)
        fail(endpoint, std::strerror(errno));
    return fd.release();
}

int open_unix(const std::string& endpoint, const std::string& path) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(sun.sun_path)) fail(endpoint, "bad socket path");
    std::memcpy(sun.sun_path, path.data(), path.size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) fail(endpoint, std::strerror(errno));
    // Replace a stale socket left by an earlier run (only sockets).
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) < 0 || ::listen(fd.get(), kBacklog) < 0)
        fail(endpoint, std::strerror(errno));
    ::chmod(path.c_str(), 0666);
    return fd.release();
}

} // namespace

int open_listener(const std::string& endpoint, std::string& transport) {
    std::string_view e(endpoint);
    if (e.starts_with("inet:")) {
        transport = "inet";
        return open_inet(endpoint, e.substr(5));
    }
    if (e.starts_with("unix:")) {
        transport = "unix";
        return open_unix(endpoint, endpoint.substr(5));
    }
    fail(endpoint, "expected inet:host:port or unix:path");
}

} // namespace psm::daemon_detail
