// Bounded splitting of a byte stream from an untrusted peer into command
// lines, as postscreen's built-in SMTP engine reads them (Postfix 3.7).
// Pure: no I/O, no Asio; asio_line_reader.hpp puts it on a socket.
//
// Rules (stock postscreen_smtpd.c, 3.7):
// * A line ends at CR LF or at a bare LF; the terminator is stripped and
//   reported. A CR not followed by LF stays in the line; a CR at the end of
//   a chunk waits for the next chunk.
// * Length: when a byte arrives while the line already holds `limit` bytes
//   (CRs included) and the previous byte was not a CR, that is an overflow
//   (postscreen logs COMMAND LENGTH LIMIT). So at most limit-1 bytes come
//   before the terminator, for CR LF and bare LF alike; with fewer bytes
//   nothing happens until the next byte arrives. Because 3.7 skips the test
//   right after a CR, a line of limit-1 bytes plus CR CR LF is accepted.
//   Deviation: stock buffers an endless run of CRs (3.7.11 answers 502 to
//   2047 bytes + 3000 CRs + LF); here a line that reaches 2 * limit bytes
//   is an overflow in any state.
// * NUL and 8-bit bytes pass through untouched.
//
// Memory: an idle buffer holds no heap memory. Lines that lie entirely in
// the chunk being consumed are handed out as views into that chunk; only
// an incomplete line (or input left over after the consumer stopped) is
// copied, and that memory is released as soon as the line is complete.
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

namespace psm {

enum class LineEnd : unsigned char { crlf, bare_lf };

struct Line {
    std::string_view text{}; // without the terminator
    LineEnd end = LineEnd::crlf;
    // The input that followed this line in the same chunk (postscreen's
    // "more input already buffered" for its pipelining test).
    std::string_view pending{};
    bool more_pending() const { return !pending.empty(); }
};

class LineHandler;

// What LineHandler accepts: a callable bool(const Line&).
template <class F>
concept LineCallback =
    !std::same_as<std::remove_cvref_t<F>, LineHandler> && std::is_invocable_r_v<bool, F&, const Line&>;

// Non-owning reference to a LineCallback, valid for one call of
// LineBuffer::consume(); the callback returns true to get the next line.
class LineHandler {
public:
    template <LineCallback F>
    LineHandler(F&& f) noexcept // implicit: consume(chunk, [&](const Line&) { ... })
        : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          call_([](void* object, const Line& line) -> bool {
              return (*static_cast<std::remove_reference_t<F>*>(object))(line);
          }) {}
    bool operator()(const Line& line) const { return call_(object_, line); }

private:
    void* object_;
    bool (*call_)(void*, const Line&);
};

class LineBuffer {
public:
    static constexpr std::size_t kDefaultLimit = 2048; // Postfix line_length_limit

    explicit LineBuffer(std::size_t limit = kDefaultLimit);

    enum class Status {
        need_more, // all input consumed; an incomplete line may be kept
        stopped,   // on_line returned false; the input after that line is kept
        overflow,  // length limit hit; everything is dropped, and every later
                   // call reports overflow again
    };

    // Splits the kept bytes followed by chunk into lines and calls on_line
    // for each complete one, in order, until it returns false. The views in
    // a Line are valid only during that call. on_line must neither destroy
    // this buffer nor call consume() on it (std::logic_error).
    Status consume(std::string_view chunk, LineHandler on_line);

    // Delivers lines kept after a stop; same as consume({}, on_line).
    Status resume(LineHandler on_line) { return consume({}, on_line); }

    // The incomplete line kept so far (e.g. to report EOF in mid-line).
    // Empty after a stop, which always happens at a line boundary.
    std::string_view partial() const;
    // True when lines kept after a stop wait for resume().
    bool has_unread() const { return unread_; }
    bool empty() const { return kept_.empty(); }
    bool overflowed() const { return overflowed_; }
    std::size_t limit() const { return limit_; }
    // Heap bytes held (0 whenever nothing is kept).
    std::size_t heap_bytes() const { return kept_.capacity(); }
    // Drops everything, including the overflow state.
    void clear();

private:
    void release();

    std::vector<char> kept_; // incomplete line, or unread input after a stop
    std::size_t limit_;
    bool unread_ = false; // kept_ holds unread input rather than a partial line
    bool overflowed_ = false;
    bool busy_ = false; // inside consume()
};

} // namespace psm
