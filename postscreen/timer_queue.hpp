// Every session deadline of the process on one Asio timer: a binary
// min-heap of intrusive entries. An armed deadline costs one heap slot (a
// pointer) and no allocation, where a steady_timer per session would cost a
// timer object plus an operation allocation per wait; with tens of
// thousands of idle clients that difference is most of the memory budget.
// Deadlines are precise (steady_clock), not whole seconds.
//
//   TimerQueue::Entry entry;                 // member of the owner
//   queue.arm(entry, 6s, [](void* self) { static_cast<Session*>(self)->on_timer(); }, this);
//   queue.cancel(entry);                     // also done by ~Entry
//
// A callback may arm or cancel any entry, including its own, and may
// destroy the entry's owner. Single-threaded (the io_context's thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

// Boost 1.74 Asio needs <utility> before it with GCC 12 (std::exchange).
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace psm::postscreen {

class TimerQueue {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = void (*)(void* context);

    class Entry {
    public:
        Entry() = default;
        ~Entry() { cancel(); }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

        bool armed() const { return index_ != kNone; }
        Clock::time_point expiry() const { return when_; }
        void cancel();

    private:
        friend class TimerQueue;
        static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
        Clock::time_point when_{};
        TimerQueue* queue_ = nullptr;
        Callback callback_ = nullptr;
        void* context_ = nullptr;
        std::uint32_t index_ = kNone;
    };

    explicit TimerQueue(boost::asio::io_context& io);
    ~TimerQueue();
    TimerQueue(const TimerQueue&) = delete;
    TimerQueue& operator=(const TimerQueue&) = delete;

    // (Re)arms entry to run callback(context) after timeout.
    void arm(Entry& entry, Clock::duration timeout, Callback callback, void* context);
    void arm_at(Entry& entry, Clock::time_point when, Callback callback, void* context);
    void cancel(Entry& entry);

    std::size_t size() const { return heap_.size(); }

private:
    void place(std::uint32_t index); // restores the heap property around index
    bool less(std::uint32_t a, std::uint32_t b) const { return heap_[a]->when_ < heap_[b]->when_; }
    void swap_slots(std::uint32_t a, std::uint32_t b);
    void sift_up(std::uint32_t index);
    void sift_down(std::uint32_t index);
    void remove_at(std::uint32_t index);
    void schedule(); // points the Asio timer at the earliest entry
    void fire();

    boost::asio::steady_timer timer_;
    std::vector<Entry*> heap_;
    Clock::time_point scheduled_ = Clock::time_point::max(); // what timer_ waits for
    bool waiting_ = false;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0); // guards late completions
};

} // namespace psm::postscreen
