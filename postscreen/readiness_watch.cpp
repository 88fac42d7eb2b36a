// ReadinessWatch: the private epoll set and its one wait on the event loop.
#include "readiness_watch.hpp"

#include "psm/util/unique_fd.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <unordered_map>

namespace psm::postscreen {

struct ReadinessWatch::Impl : std::enable_shared_from_this<Impl> {
    struct Entry {
        Callback callback;
        void* context;
    };

    explicit Impl(boost::asio::io_context& io) : waiter(io) {
        UniqueFd fd(::epoll_create1(EPOLL_CLOEXEC));
        if (!fd) throw std::system_error(errno, std::generic_category(), "epoll_create1");
        waiter.assign(fd.release());
    }

    int epoll() { return waiter.native_handle(); }

    void arm() {
        if (armed || entries.empty()) return;
        armed = true;
        waiter.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                              self->armed = false;
                              if (ec) return;
                              self->dispatch();
                              self->arm();
                          });
    }

    // Every registration is one-shot, so each pass takes events out of the
    // set for good: the loop ends.
    void dispatch() {
        std::array<epoll_event, 64> events;
        for (;;) {
            int n = ::epoll_wait(epoll(), events.data(), static_cast<int>(events.size()), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            for (int i = 0; i < n; ++i) {
                auto it = entries.find(events[i].data.u64);
                if (it == entries.end()) continue; // cancelled in this pass
                Entry entry = it->second;
                entries.erase(it);
                entry.callback(entry.context);
            }
            if (n < static_cast<int>(events.size())) return;
        }
    }

    boost::asio::posix::stream_descriptor waiter; // the epoll set
    std::unordered_map<std::uint64_t, Entry> entries;
    std::uint64_t next_ticket = 1;
    bool armed = false;
};

ReadinessWatch::ReadinessWatch(boost::asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}

ReadinessWatch::~ReadinessWatch() {
    impl_->entries.clear();
    boost::system::error_code ignored;
    impl_->waiter.close(ignored); // a pending wait completes as aborted
}

std::uint64_t ReadinessWatch::watch(int fd, Callback callback, void* context) {
    const std::uint64_t ticket = impl_->next_ticket++;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.u64 = ticket;
    // A one-shot registration that has fired stays in the set, disabled,
    // until the descriptor is closed: watching it again re-enables it.
    if (::epoll_ctl(impl_->epoll(), EPOLL_CTL_ADD, fd, &ev) < 0 &&
        (errno != EEXIST || ::epoll_ctl(impl_->epoll(), EPOLL_CTL_MOD, fd, &ev) < 0))
        return 0;
    impl_->entries.emplace(ticket, Impl::Entry{callback, context});
    impl_->arm();
    return ticket;
}

void ReadinessWatch::cancel(std::uint64_t ticket, int fd) {
    if (ticket == 0 || impl_->entries.erase(ticket) == 0) return;
    // Closing the descriptor takes it out of the set only when no other
    // process holds it (smtpd may hold a passed client socket).
    ::epoll_ctl(impl_->epoll(), EPOLL_CTL_DEL, fd, nullptr);
}

std::size_t ReadinessWatch::size() const {
    return impl_->entries.size();
}

} // namespace psm::postscreen
