// Attribute lists over a plain file descriptor with poll() deadlines, and
// the mapping of decoder errors to error codes shared with the Asio helpers.
#include "psm/global/attr_io.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace psm {

namespace {

using Clock = std::chrono::steady_clock;

boost::system::error_code system_error(int err) {
    return {err, boost::system::system_category()};
}

// Waits until fd is ready for `events` or the deadline passes.
boost::system::error_code wait_fd(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return boost::asio::error::timed_out;
        pollfd p{};
        p.fd = fd;
        p.events = events;
        int n = ::poll(&p, 1, static_cast<int>(left.count() > 0x7fffffff ? 0x7fffffff : left.count()));
        if (n > 0) return {};
        if (n < 0 && errno != EINTR) return system_error(errno);
    }
}

} // namespace

AttrReadResult attr_read_result(AttrDecoder& decoder, std::string_view service) {
    AttrReadResult result;
    result.started = decoder.started();
    if (decoder.status() == AttrDecoder::Status::complete) {
        result.attrs = decoder.take();
        return result;
    }
    switch (decoder.error()) {
    case AttrDecoder::Error::none:
        result.error = boost::asio::error::eof;
        break;
    case AttrDecoder::Error::timeout:
        result.error = boost::asio::error::timed_out;
        break;
    case AttrDecoder::Error::premature_eof:
    case AttrDecoder::Error::truncated:
        result.error = boost::asio::error::eof;
        break;
    case AttrDecoder::Error::too_long:
    case AttrDecoder::Error::too_many:
        result.error = boost::asio::error::message_size;
        break;
    case AttrDecoder::Error::malformed:
        result.error = boost::system::errc::make_error_code(boost::system::errc::bad_message);
        break;
    }
    result.warning = decoder.message(service);
    decoder.reset();
    return result;
}

AttrReadResult attr_read_fd(int fd, std::string_view service, std::chrono::milliseconds timeout,
                            AttrReadOptions options) {
    const auto deadline = Clock::now() + timeout;
    AttrDecoder decoder(options.encoding, options.limits);
    std::string_view input = options.pending;
    std::array<char, 4096> buf;
    for (;;) {
        std::size_t used = decoder.feed(input);
        if (decoder.status() != AttrDecoder::Status::need_more) {
            std::string rest(input.substr(used));
            AttrReadResult result = attr_read_result(decoder, service);
            result.rest = std::move(rest);
            return result;
        }
        if (auto ec = wait_fd(fd, POLLIN, deadline)) {
            if (ec == boost::asio::error::timed_out) {
                decoder.finish(true);
                return attr_read_result(decoder, service);
            }
            AttrReadResult result;
            result.error = ec;
            return result;
        }
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                input = {};
                continue;
            }
            AttrReadResult result;
            result.error = system_error(errno);
            result.started = decoder.started();
            return result;
        }
        if (n == 0) {
            decoder.finish();
            return attr_read_result(decoder, service);
        }
        input = std::string_view(buf.data(), static_cast<std::size_t>(n));
    }
}

boost::system::error_code attr_write_fd(int fd, const AttrList& list, std::chrono::milliseconds timeout,
                                        AttrEncoding encoding) {
    const auto deadline = Clock::now() + timeout;
    const std::string data = attr_encode(list, encoding);
    std::size_t done = 0;
    bool is_socket = true;
    while (done < data.size()) {
        if (auto ec = wait_fd(fd, POLLOUT, deadline)) return ec;
        ssize_t n = is_socket ? ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL) : -1;
        if (n < 0 && is_socket && errno == ENOTSOCK) is_socket = false;
        if (!is_socket) n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            return system_error(errno);
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

} // namespace psm
