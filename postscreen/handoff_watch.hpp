// Waiting for smtpd to take handed-off clients: every session's channel in
// one private epoll set, which the event loop watches as one descriptor.
//
// A channel is added with one epoll_ctl() and reported once (EPOLLONESHOT)
// when smtpd closes it; the owner then closes it, which also takes it out
// of the set. Registering each channel with Asio instead costs a FIONBIO
// ioctl, an EPOLL_CTL_MOD and an EPOLL_CTL_DEL more per hand-off, and a
// PASS OLD client costs postscreen little else. One epoll_wait() serves
// every channel that smtpd closed in the same turn of the loop.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>

namespace psm::postscreen {

class HandoffWatch {
public:
    using Callback = void (*)(void* context);

    explicit HandoffWatch(boost::asio::io_context& io); // throws std::system_error
    ~HandoffWatch();
    HandoffWatch(const HandoffWatch&) = delete;
    HandoffWatch& operator=(const HandoffWatch&) = delete;

    // Runs callback(context) once, from the event loop, when `channel` turns
    // readable or is hung up (smtpd took the descriptor and closed its end).
    // Returns a non-zero ticket, or 0 (errno set) when the channel cannot be
    // watched. The callback does not run after cancel() or the destructor.
    std::uint64_t watch(int channel, Callback callback, void* context);

    // Forgets a watch whose callback has not run; `channel` must still be
    // open (the caller closes it afterwards).
    void cancel(std::uint64_t ticket, int channel);

    // Channels watched now.
    std::size_t size() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

} // namespace psm::postscreen
