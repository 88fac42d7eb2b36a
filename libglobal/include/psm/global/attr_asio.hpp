// Boost.Asio helpers for the attribute protocol in single-threaded
// io_context code: read one list from a stream socket with a deadline, and
// write one list with a deadline. Stream is any Asio stream with
// async_read_some/async_write_some, get_executor() and cancel(error_code&)
// (sockets, posix::stream_descriptor). The stream must outlive the
// operation; closing it makes the operation complete with an error.
//
//   psm::async_attr_read(sock, "private/dnsblog", 10s, [](psm::AttrReadResult r) { ... });
//   psm::async_attr_write(sock, list, 10s, [](boost::system::error_code ec) { ... });
//
// Note: a read may receive bytes beyond the end of the list (returned in
// AttrReadResult::rest). Don't start a read while the peer may already be
// sending a file descriptor after the list: a plain read would swallow it.
#pragma once

#include "psm/global/attr.hpp"
#include "psm/global/attr_io.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

namespace psm {

namespace attr_asio_detail {

template <class Stream, class Handler> class ReadOp : public std::enable_shared_from_this<ReadOp<Stream, Handler>> {
public:
    ReadOp(Stream& stream, std::string_view service, Handler handler, const AttrReadOptions& options)
        : stream_(stream), timer_(stream.get_executor()), handler_(std::move(handler)),
          decoder_(options.encoding, options.limits), service_(service) {}

    void start(std::string pending, std::chrono::steady_clock::duration timeout) {
        timer_.expires_after(timeout);
        timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->done_) return;
            self->timed_out_ = true;
            boost::system::error_code ignored;
            self->stream_.cancel(ignored);
        });
        if (pending.empty()) {
            read();
            return;
        }
        // Never complete inside the initiating call.
        boost::asio::post(stream_.get_executor(), [self = this->shared_from_this(), pending = std::move(pending)] {
            if (!self->consume(pending)) self->read();
        });
    }

private:
    void read() {
        stream_.async_read_some(boost::asio::buffer(buf_),
                                [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const boost::system::error_code& ec, std::size_t n) {
        if (done_) return;
        if (timed_out_) {
            decoder_.finish(true);
            complete({});
        } else if (ec == boost::asio::error::eof) {
            decoder_.finish();
            complete({});
        } else if (ec) {
            AttrReadResult result;
            result.error = ec;
            result.started = decoder_.started();
            finish(std::move(result));
        } else if (!consume(std::string_view(buf_.data(), n))) {
            read();
        }
    }

    // Feeds bytes; true when the operation completed.
    bool consume(std::string_view bytes) {
        std::size_t used = decoder_.feed(bytes);
        if (decoder_.status() == AttrDecoder::Status::need_more) return false;
        complete(std::string(bytes.substr(used)));
        return true;
    }

    void complete(std::string rest) {
        AttrReadResult result = attr_read_result(decoder_, service_);
        result.rest = std::move(rest);
        finish(std::move(result));
    }

    void finish(AttrReadResult result) {
        done_ = true;
        timer_.cancel();
        handler_(std::move(result));
    }

    Stream& stream_;
    boost::asio::steady_timer timer_;
    Handler handler_;
    AttrDecoder decoder_;
    std::string service_;
    std::array<char, 2048> buf_;
    bool done_ = false;
    bool timed_out_ = false;
};

template <class Stream, class Handler> class WriteOp : public std::enable_shared_from_this<WriteOp<Stream, Handler>> {
public:
    WriteOp(Stream& stream, std::string data, Handler handler)
        : stream_(stream), timer_(stream.get_executor()), handler_(std::move(handler)), data_(std::move(data)) {}

    void start(std::chrono::steady_clock::duration timeout) {
        timer_.expires_after(timeout);
        timer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->done_) return;
            self->timed_out_ = true;
            boost::system::error_code ignored;
            self->stream_.cancel(ignored);
        });
        boost::asio::async_write(stream_, boost::asio::buffer(data_),
                                 [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                                     self->done_ = true;
                                     self->timer_.cancel();
                                     self->handler_(self->timed_out_ ? boost::asio::error::timed_out : ec);
                                 });
    }

private:
    Stream& stream_;
    boost::asio::steady_timer timer_;
    Handler handler_;
    std::string data_;
    bool done_ = false;
    bool timed_out_ = false;
};

} // namespace attr_asio_detail

// Reads one list; handler(AttrReadResult) runs on the stream's executor.
template <class Stream, class Handler>
void async_attr_read(Stream& stream, std::string_view service, std::chrono::steady_clock::duration timeout,
                     Handler&& handler, AttrReadOptions options = {}) {
    using Op = attr_asio_detail::ReadOp<Stream, std::decay_t<Handler>>;
    auto op = std::make_shared<Op>(stream, service, std::forward<Handler>(handler), options);
    op->start(std::move(options.pending), timeout);
}

// Writes one list; handler(boost::system::error_code) gets timed_out when the
// deadline passed.
template <class Stream, class Handler>
void async_attr_write(Stream& stream, const AttrList& list, std::chrono::steady_clock::duration timeout,
                      Handler&& handler, AttrEncoding encoding = AttrEncoding::attr0) {
    using Op = attr_asio_detail::WriteOp<Stream, std::decay_t<Handler>>;
    auto op = std::make_shared<Op>(stream, attr_encode(list, encoding), std::forward<Handler>(handler));
    op->start(timeout);
}

} // namespace psm
