// Bounded CRLF/LF line splitting with postscreen's 3.7 length rule (see line_buffer.hpp).
#include "psm/util/line_buffer.hpp"

#include <stdexcept>

namespace psm {
namespace {

// Clears `busy` on every way out of consume().
class BusyGuard {
public:
    explicit BusyGuard(bool& busy) : busy_(busy) {
        if (busy_) throw std::logic_error("LineBuffer::consume() called from its own line handler");
        busy_ = true;
    }
    ~BusyGuard() { busy_ = false; }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;

private:
    bool& busy_;
};

} // namespace

LineBuffer::LineBuffer(std::size_t limit) : limit_(limit) {
    if (limit_ == 0) throw std::invalid_argument("LineBuffer: zero line length limit");
}

std::string_view LineBuffer::partial() const {
    if (unread_) return {};
    return {kept_.data(), kept_.size()};
}

void LineBuffer::release() {
    std::vector<char>().swap(kept_);
    unread_ = false;
}

void LineBuffer::clear() {
    release();
    overflowed_ = false;
}

LineBuffer::Status LineBuffer::consume(std::string_view chunk, LineHandler on_line) {
    BusyGuard guard(busy_);
    if (overflowed_) return Status::overflow;

    // Input left unread by a stop starts at a line boundary: scan it again
    // in front of the new chunk. (Rare: readers resume before reading on.)
    std::vector<char> unread;
    if (unread_) {
        unread.swap(kept_);
        unread_ = false;
        unread.insert(unread.end(), chunk.begin(), chunk.end());
        chunk = {unread.data(), unread.size()};
    }

    const std::size_t hard_cap = 2 * limit_;
    std::size_t held = kept_.size(); // bytes of the current line kept from earlier chunks
    bool after_cr = held > 0 && kept_.back() == '\r';
    std::size_t start = 0; // where the current line's bytes begin in chunk
    for (std::size_t i = 0; i < chunk.size(); ++i) {
        const std::size_t length = held + (i - start);
        if ((length >= limit_ && !after_cr) || length >= hard_cap) {
            release();
            overflowed_ = true;
            return Status::overflow;
        }
        const char c = chunk[i];
        if (c != '\n') {
            after_cr = c == '\r';
            continue;
        }
        Line line;
        line.end = after_cr ? LineEnd::crlf : LineEnd::bare_lf;
        const std::size_t terminator = after_cr ? 2 : 1;
        if (held == 0) {
            line.text = chunk.substr(start, i + 1 - start - terminator);
        } else {
            kept_.insert(kept_.end(), chunk.begin() + static_cast<std::ptrdiff_t>(start),
                         chunk.begin() + static_cast<std::ptrdiff_t>(i + 1));
            line.text = {kept_.data(), kept_.size() - terminator};
        }
        line.pending = chunk.substr(i + 1);
        const bool more = on_line(line);
        release();
        held = 0;
        after_cr = false;
        start = i + 1;
        if (!more) {
            if (start < chunk.size()) {
                kept_.assign(chunk.begin() + static_cast<std::ptrdiff_t>(start), chunk.end());
                unread_ = true;
            }
            return Status::stopped;
        }
    }
    kept_.insert(kept_.end(), chunk.begin() + static_cast<std::ptrdiff_t>(start), chunk.end());
    return Status::need_more;
}

} // namespace psm
