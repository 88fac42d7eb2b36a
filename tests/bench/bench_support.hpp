// Pieces shared by the benchmark tools (psm-loadgen, psm-dnsblog-load,
// psm-pass-floor): the error exit, an owned file descriptor, the raised
// descriptor limit, elapsed seconds, loopback-only endpoint parsing (the
// tools refuse any target outside 127.0.0.0/8) and a TCP listener on such an
// endpoint.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace psm::bench {

// The tool's name in error messages; main() sets it.
inline const char* program_name = "psm-bench";

[[noreturn]] inline void die(const std::string& text) {
    std::fprintf(stderr, "%s: %s\n", program_name, text.c_str());
    std::exit(2);
}

// Raises the soft descriptor limit to the hard one: a tool holds thousands
// of connections at once.
inline void raise_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

inline double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = o.release();
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// An IPv4 endpoint inside 127.0.0.0/8.
struct Endpoint {
    std::uint32_t addr = 0; // host order
    std::uint16_t port = 0;

    sockaddr_in sockaddr() const {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(addr);
        sa.sin_port = htons(port);
        return sa;
    }
};

inline std::uint32_t parse_loopback(const std::string& text, const char* what) {
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) die(std::string("bad ") + what + " address: " + text);
    std::uint32_t h = ntohl(a.s_addr);
    if ((h >> 24) != 127) die(std::string("refusing ") + what + " address outside 127.0.0.0/8: " + text);
    return h;
}

inline Endpoint parse_endpoint(const std::string& text, const char* what) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) die(std::string("bad ") + what + " (want ADDR:PORT): " + text);
    Endpoint e;
    e.addr = parse_loopback(text.substr(0, colon), what);
    long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
    if (port < 1 || port > 65535) die(std::string("bad ") + what + " port: " + text);
    e.port = static_cast<std::uint16_t>(port);
    return e;
}

// A non-blocking TCP listener on `at` (SO_REUSEADDR, backlog 4096), or
// the tool exits with the reason.
inline Fd listen_tcp(const Endpoint& at) {
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa = at.sockaddr();
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        die(std::string("bind: ") + std::strerror(errno));
    if (listen(fd.get(), 4096) < 0) die(std::string("listen: ") + std::strerror(errno));
    return fd;
}

} // namespace psm::bench
