// One-shot readiness waits on descriptors that need nothing else from the
// event loop: a client's socket during the pregreet wait, a hand-off
// channel until smtpd closes it. They share one private epoll set, which
// the event loop watches as one descriptor.
//
// A wait costs one epoll_ctl(): the descriptor is reported once
// (EPOLLONESHOT) when it turns readable or is hung up, and closing it
// takes it out of the set. The same wait through Asio costs a FIONBIO
// ioctl, an EPOLL_CTL_MOD (Asio's wait is never speculative) and an
// EPOLL_CTL_DEL more, and Asio's per-descriptor state in memory (an idle
// client in the greet wait holds nothing else of Asio). One epoll_wait()
// serves every descriptor that became ready in the same turn of the loop.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>

namespace psm::postscreen {

class ReadinessWatch {
public:
    using Callback = void (*)(void* context);

    explicit ReadinessWatch(boost::asio::io_context& io); // throws std::system_error
    ~ReadinessWatch();
    ReadinessWatch(const ReadinessWatch&) = delete;
    ReadinessWatch& operator=(const ReadinessWatch&) = delete;

    // Runs callback(context) once, from the event loop, when `fd` turns
    // readable or is hung up. Returns a non-zero ticket, or 0 (errno set)
    // when it cannot be watched. The callback does not run after cancel()
    // or the destructor. A descriptor may be watched again after its
    // callback ran.
    std::uint64_t watch(int fd, Callback callback, void* context);

    // Forgets a watch whose callback has not run; `fd` must still be open
    // (the caller closes it afterwards). A ticket of 0 or one that already
    // ran is ignored.
    void cancel(std::uint64_t ticket, int fd);

    // Watches pending now.
    std::size_t size() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace psm::postscreen
