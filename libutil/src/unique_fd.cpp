// UniqueFd's closing; close(2) errors are of no use to anyone here.
#include "psm/util/unique_fd.hpp"

#include <unistd.h>

namespace psm {

void UniqueFd::reset(int fd) {
    int old = std::exchange(fd_, fd);
    if (old >= 0 && old != fd) ::close(old);
}

} // namespace psm
