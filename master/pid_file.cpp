// Lock files (see pid_file.hpp).
#include "pid_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace psm::master {

std::string pid_file_text(pid_t pid) {
    char buf[64];
    int n = std::snprintf(buf, sizeof(buf), "%*lu\n", static_cast<int>(sizeof(unsigned long) * 4),
                          static_cast<unsigned long>(pid));
    return std::string(buf, static_cast<std::size_t>(n));
}

UniqueFd open_lock(const std::string& path, std::string& why) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) {
        why = std::string("cannot open file: ") + std::strerror(errno);
        return {};
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
        why = std::string("unable to set exclusive lock: ") + std::strerror(errno);
        return {};
    }
    return fd;
}

bool write_pid(int fd, pid_t pid) {
    const std::string text = pid_file_text(pid);
    if (::ftruncate(fd, 0) < 0) return false;
    if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) return false;
    return true;
}

bool lock_is_held(const std::string& path) {
    if (::access(path.c_str(), F_OK) < 0) return false;
    std::string why;
    return !open_lock(path, why);
}

} // namespace psm::master
