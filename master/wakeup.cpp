// Wakeup triggers (see wakeup.hpp).
#include "wakeup.hpp"

#include "psm/util/fd_passing.hpp"
#include "psm/util/unique_fd.hpp"

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace psm::master {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 1s;
constexpr auto kHangupTimeout = 101s;
constexpr std::array<char, 2> kWakeup = {'W', '\0'};

// One trigger over a stream connection; owns itself until the peer hangs
// up or the timers fire.
class StreamTrigger : public std::enable_shared_from_this<StreamTrigger> {
public:
    StreamTrigger(asio::io_context& io, std::function<void(const std::string&)> on_error)
        : socket_(io), timer_(io), on_error_(std::move(on_error)) {}

    template <class Endpoint> void start(const Endpoint& endpoint, bool pass) {
        pass_ = pass;
        timer_.expires_after(kConnectTimeout);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec && !self->connected_) {
                self->fail(std::strerror(ETIMEDOUT));
                self->socket_.close();
            }
        });
        socket_.async_connect(endpoint, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) {
                if (ec != asio::error::operation_aborted) self->fail(ec.message());
                self->timer_.cancel();
                return;
            }
            self->connected_ = true;
            self->send();
        });
    }

private:
    void send() {
        if (pass_) {
            int p[2];
            // Blocking, as stock: the server may read before our write lands.
            if (::pipe2(p, O_CLOEXEC) < 0) return fail(std::strerror(errno));
            pipe_read_.reset(p[0]);
            pipe_write_.reset(p[1]);
            if (int err = send_fd(socket_.native_handle(), pipe_read_.get()); err != 0) return fail(std::strerror(err));
            if (::write(pipe_write_.get(), kWakeup.data(), kWakeup.size()) < 0) return fail(std::strerror(errno));
            wait_hangup();
            return;
        }
        asio::async_write(socket_, asio::buffer(kWakeup),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                              if (ec) return self->fail(ec.message());
                              self->wait_hangup();
                          });
    }

    void wait_hangup() {
        timer_.expires_after(kHangupTimeout);
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->socket_.close();
        });
        socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](const boost::system::error_code&) {
            // Readable: data (ignored) or EOF. Either way we are done.
            self->timer_.cancel();
            self->socket_.close();
        });
    }

    void fail(const std::string& reason) {
        if (failed_) return;
        failed_ = true;
        timer_.cancel();
        if (on_error_) on_error_(reason);
    }

    asio::generic::stream_protocol::socket socket_;
    asio::steady_timer timer_;
    std::function<void(const std::string&)> on_error_;
    UniqueFd pipe_read_, pipe_write_;
    bool pass_ = false;
    bool connected_ = false;
    bool failed_ = false;
};

// Switches to the mail owner's effective ids for a fifo write (stock does
// this so that a compromised account cannot redirect root's write).
class Ids {
public:
    explicit Ids(const ListenIdentity& who) : active_(who.switch_ids) {
        if (active_) {
            ok_ = ::setegid(who.gid) == 0 && ::setgroups(1, &who.gid) == 0 && ::seteuid(who.uid) == 0;
        }
    }
    ~Ids() {
        const gid_t gid = ::getgid();
        if (active_ && (::seteuid(::getuid()) < 0 || ::setegid(gid) < 0 || ::setgroups(1, &gid) < 0)) std::abort();
    }
    Ids(const Ids&) = delete;
    Ids& operator=(const Ids&) = delete;
    bool ok() const { return ok_; }

private:
    bool active_;
    bool ok_ = true;
};

} // namespace

void send_wakeup(asio::io_context& io, const ServicePlan& service, const ListenIdentity& who,
                 std::function<void(const std::string& reason)> on_error) {
    switch (service.type) {
    case ServiceType::fifo: {
        std::string reason;
        {
            Ids ids(who);
            UniqueFd fd(ids.ok() ? ::open(service.name.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW) : -1);
            if (!fd || ::write(fd.get(), kWakeup.data(), 1) != 1) reason = std::strerror(errno);
        }
        if (!reason.empty() && on_error) on_error(reason);
        return;
    }
    case ServiceType::unix_dgram:
        return; // stock has no wakeup for datagram services
    case ServiceType::unix_stream:
    case ServiceType::pass: {
        auto t = std::make_shared<StreamTrigger>(io, std::move(on_error));
        t->start(asio::local::stream_protocol::endpoint(service.name), service.type == ServiceType::pass);
        return;
    }
    case ServiceType::inet: {
        if (service.addresses.empty()) return;
        // A wildcard listener is reached through the loopback address.
        InetAddr target = service.addresses.front();
        if (target == *InetAddr::parse("0.0.0.0")) target = *InetAddr::parse("127.0.0.1");
        if (target == *InetAddr::parse("::")) target = *InetAddr::parse("::1");
        auto t = std::make_shared<StreamTrigger>(io, std::move(on_error));
        t->start(asio::ip::tcp::endpoint(target.to_asio(), service.port), false);
        return;
    }
    }
}

} // namespace psm::master
