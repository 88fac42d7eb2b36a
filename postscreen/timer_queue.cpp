// TimerQueue: a binary min-heap of intrusive deadline entries on one Asio
// steady_timer (see timer_queue.hpp).
#include "timer_queue.hpp"

namespace psm::postscreen {

void TimerQueue::Entry::cancel() {
    if (queue_) queue_->cancel(*this);
}

TimerQueue::TimerQueue(boost::asio::io_context& io) : timer_(io) {}

TimerQueue::~TimerQueue() {
    for (Entry* e : heap_) {
        e->index_ = Entry::kNone;
        e->queue_ = nullptr;
    }
    heap_.clear();
}

void TimerQueue::arm(Entry& entry, Clock::duration timeout, Callback callback, void* context) {
    arm_at(entry, Clock::now() + timeout, callback, context);
}

void TimerQueue::arm_at(Entry& entry, Clock::time_point when, Callback callback, void* context) {
    if (entry.queue_ && entry.queue_ != this) entry.queue_->cancel(entry);
    entry.when_ = when;
    entry.callback_ = callback;
    entry.context_ = context;
    entry.queue_ = this;
    if (entry.index_ == Entry::kNone) {
        entry.index_ = static_cast<std::uint32_t>(heap_.size());
        heap_.push_back(&entry);
    }
    place(entry.index_);
    schedule();
}

void TimerQueue::cancel(Entry& entry) {
    if (entry.queue_ != this) return;
    if (entry.index_ != Entry::kNone) remove_at(entry.index_);
    entry.queue_ = nullptr;
    // The Asio timer may now fire early; fire() then finds nothing due and
    // waits for the new earliest entry. That is cheaper than re-arming on
    // every cancellation.
}

void TimerQueue::swap_slots(std::uint32_t a, std::uint32_t b) {
    std::swap(heap_[a], heap_[b]);
    heap_[a]->index_ = a;
    heap_[b]->index_ = b;
}

void TimerQueue::sift_up(std::uint32_t index) {
    while (index > 0) {
        std::uint32_t parent = (index - 1) / 2;
        if (!less(index, parent)) break;
        swap_slots(index, parent);
        index = parent;
    }
}

void TimerQueue::sift_down(std::uint32_t index) {
    const auto n = static_cast<std::uint32_t>(heap_.size());
    for (;;) {
        std::uint32_t smallest = index;
        std::uint32_t left = 2 * index + 1, right = left + 1;
        if (left < n && less(left, smallest)) smallest = left;
        if (right < n && less(right, smallest)) smallest = right;
        if (smallest == index) break;
        swap_slots(index, smallest);
        index = smallest;
    }
}

void TimerQueue::place(std::uint32_t index) {
    Entry* e = heap_[index];
    sift_up(index);
    sift_down(e->index_);
}

void TimerQueue::remove_at(std::uint32_t index) {
    Entry* gone = heap_[index];
    const auto last = static_cast<std::uint32_t>(heap_.size() - 1);
    if (index != last) {
        swap_slots(index, last);
        heap_.pop_back();
        place(index);
    } else {
        heap_.pop_back();
    }
    gone->index_ = Entry::kNone;
    if (heap_.empty() && heap_.capacity() > 1024) heap_.shrink_to_fit();
}

void TimerQueue::schedule() {
    if (heap_.empty()) return;
    const Clock::time_point first = heap_.front()->when_;
    if (waiting_ && scheduled_ <= first) return; // fires in time; fire() re-schedules
    scheduled_ = first;
    waiting_ = true;
    timer_.expires_at(first); // cancels a pending wait (its handler sees operation_aborted)
    timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        waiting_ = false;
        fire();
    });
}

void TimerQueue::fire() {
    const Clock::time_point now = Clock::now();
    // Bounded: only entries that were due on entry run now; entries armed
    // by callbacks for "now" wait for the next turn of the loop.
    std::size_t budget = heap_.size();
    std::weak_ptr<int> alive = alive_;
    while (budget-- > 0 && !heap_.empty() && heap_.front()->when_ <= now) {
        Entry* e = heap_.front();
        remove_at(0);
        e->queue_ = nullptr;
        Callback cb = e->callback_;
        void* ctx = e->context_;
        cb(ctx); // may arm, cancel, or destroy anything (even this queue)
        if (alive.expired()) return;
    }
    schedule();
}

} // namespace psm::postscreen
