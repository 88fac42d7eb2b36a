// A fixed-capacity byte queue for one relay direction. Bytes are appended
// at the tail and taken from the head; the storage is allocated on first
// use (handshaking sessions cost nothing) and never grows: a buffer without
// tail room is the back-pressure signal that stops reading from the
// producing side. Moving the pending bytes to the front (compact) is left
// to the caller, who knows when no asynchronous operation points into the
// buffer.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

namespace psm::tlsproxy {

class RelayBuffer {
public:
    explicit RelayBuffer(std::size_t capacity) : capacity_(capacity) {}

    std::size_t capacity() const { return capacity_; }
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return begin_ == end_; }

    // Pending bytes; consume(n) drops the first n of them (n <= size()).
    const char* data() const { return storage_.get() + begin_; }
    void consume(std::size_t n) { begin_ += n; }

    // Room after the pending bytes (allocating the storage on first use);
    // commit(n) appends n bytes written there (n <= tail_size()).
    char* tail() {
        if (!storage_) storage_ = std::make_unique<char[]>(capacity_);
        return storage_.get() + end_;
    }
    std::size_t tail_size() const { return capacity_ - end_; }
    void commit(std::size_t n) { end_ += n; }

    // Moves the pending bytes to the front. Only while nothing reads from
    // data() or writes into tail() asynchronously.
    void compact() {
        if (begin_ == 0) return;
        if (end_ > begin_) std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }

private:
    std::size_t capacity_;
    std::unique_ptr<char[]> storage_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace psm::tlsproxy
