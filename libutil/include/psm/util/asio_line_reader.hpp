// Reads command lines from a stream socket on the io_context: waits for
// readability, reads once (up to 4096 bytes, like Postfix's stream buffer)
// into a scratch buffer shared by all readers of the thread, and hands out
// each complete line through a LineBuffer. Idle readers hold no buffer.
//
// Use (single-threaded io_context):
//     reader.start(socket, [this](const ReadEvent& ev) { ...; return true; });
// The handler gets every complete line, in order (return false to pause;
// call start() again later to continue with the lines already received),
// then at most one final event: eof (with the incomplete rest of the line),
// error, or overflow (the length limit, see line_buffer.hpp). Nothing is
// delivered after the reader is destroyed or stop() is called, so the
// handler may capture raw pointers to the reader's owner. The socket must
// outlive the reader (declare it first); closing it is fine.
#pragma once

#include "psm/util/line_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

// Boost 1.74 Asio needs <utility> before it with GCC 12 (std::exchange).
#include <boost/asio.hpp>

namespace psm {

struct ReadEvent {
    enum class Kind { line, eof, error, overflow };
    Kind kind = Kind::line;
    Line line{};                     // line; for eof: text = incomplete rest
    boost::system::error_code error; // error
};

// Bytes read per readiness event (Postfix's VSTREAM_BUFSIZE).
inline constexpr std::size_t kReadChunkSize = 4096;

class AsioLineReader {
public:
    explicit AsioLineReader(std::size_t line_limit = LineBuffer::kDefaultLimit);
    ~AsioLineReader();
    AsioLineReader(const AsioLineReader&) = delete;
    AsioLineReader& operator=(const AsioLineReader&) = delete;

    // Starts or resumes reading. handler: bool(const ReadEvent&); its result
    // counts for line events only. Lines kept from a pause are delivered
    // first, before this returns. Must not be called from the handler.
    template <class Socket, class Handler> void start(Socket& socket, Handler handler);

    // Ends reading: a pending wait completes without effect (closing or
    // cancelling the socket also releases the handler it holds).
    void stop();

    const LineBuffer& buffer() const { return state_->buffer; }

private:
    struct State {
        explicit State(std::size_t limit) : buffer(limit) {}
        LineBuffer buffer;
        std::uint64_t generation = 0; // bumped by start() and stop()
    };
    using Weak = std::weak_ptr<State>;

    // Non-template parts, in asio_line_reader.cpp.
    static std::span<char> scratch();
    static bool is_retry(const boost::system::error_code& ec);
    // Feeds input (or, with an empty chunk, the kept lines) to the buffer and
    // the handler. Returns true when the caller should wait for more input.
    template <class Handler>
    static bool deliver(State& state, std::uint64_t generation, std::string_view chunk, Handler& handler);
    // Reports EOF or a read error.
    template <class Handler>
    static void finish(const State& state, const boost::system::error_code& error, Handler& handler);
    template <class Socket, class Handler>
    static void wait(Socket& socket, Weak weak, std::uint64_t generation, Handler handler);

    std::shared_ptr<State> state_;
};

template <class Handler>
bool AsioLineReader::deliver(State& state, std::uint64_t generation, std::string_view chunk, Handler& handler) {
    LineBuffer::Status status = state.buffer.consume(chunk, [&](const Line& line) {
        if (state.generation != generation) return false; // stopped or destroyed meanwhile
        ReadEvent event;
        event.line = line;
        return static_cast<bool>(handler(std::as_const(event)));
    });
    if (state.generation != generation) return false;
    if (status == LineBuffer::Status::overflow) {
        ReadEvent event;
        event.kind = ReadEvent::Kind::overflow;
        handler(std::as_const(event));
        return false;
    }
    return status == LineBuffer::Status::need_more;
}

template <class Handler>
void AsioLineReader::finish(const State& state, const boost::system::error_code& error, Handler& handler) {
    ReadEvent event;
    if (error == boost::asio::error::eof) {
        event.kind = ReadEvent::Kind::eof;
        event.line.text = state.buffer.partial();
    } else {
        event.kind = ReadEvent::Kind::error;
        event.error = error;
    }
    handler(std::as_const(event));
}

template <class Socket, class Handler>
void AsioLineReader::wait(Socket& socket, Weak weak, std::uint64_t generation, Handler handler) {
    socket.async_wait(Socket::wait_read, [&socket, weak = std::move(weak), generation,
                                          handler = std::move(handler)](const boost::system::error_code& ec) mutable {
        std::shared_ptr<State> state = weak.lock();
        if (!state || state->generation != generation || ec == boost::asio::error::operation_aborted) return;
        boost::system::error_code error = ec;
        std::span<char> buf = scratch();
        std::size_t n = error ? 0 : socket.read_some(boost::asio::buffer(buf.data(), buf.size()), error);
        if (!error) {
            if (deliver(*state, generation, {buf.data(), n}, handler) && socket.is_open())
                wait(socket, std::move(weak), generation, std::move(handler));
        } else if (is_retry(error)) {
            wait(socket, std::move(weak), generation, std::move(handler));
        } else {
            finish(*state, error, handler);
        }
    });
}

template <class Socket, class Handler> void AsioLineReader::start(Socket& socket, Handler handler) {
    const std::uint64_t generation = ++state_->generation;
    boost::system::error_code ignored; // a real problem shows up at the first read
    socket.non_blocking(true, ignored);
    if (state_->buffer.has_unread() || state_->buffer.overflowed()) {
        std::shared_ptr<State> keep = state_; // the handler may destroy *this
        if (!deliver(*keep, generation, {}, handler)) return;
    }
    wait(socket, Weak(state_), generation, std::move(handler));
}

} // namespace psm
