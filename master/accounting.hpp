// Per-service process accounting as stock master keeps it (protocols.md
// §5.3): total and available children, the process limit, the throttle
// flag, status updates from the children (TAKEN/AVAIL with generation
// checks), the "watch the listeners?" decision with the process-limit
// warning (at most once per 1000 s), and stress mode for non-local
// services. Pure bookkeeping: no descriptors, no clock of its own.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace psm::master {

struct ChildState {
    pid_t pid = 0;
    unsigned generation = 0;
    long use_count = 0;    // completed TAKEN -> AVAIL cycles
    bool available = true; // a fresh child counts as available
};

enum class StatusOutcome {
    unknown_pid,      // not (or no longer) ours: ignored
    wrong_generation, // logged by the caller as stock: "ignoring status update from child pid N generation G"
    unchanged,        // same state again: ignored
    now_available,
    now_taken,
    bad_value, // caller warns: "...: ignoring unknown status: ..."
};

class ProcessAccounting {
public:
    explicit ProcessAccounting(int max_proc = 0, bool stress_capable = false)
        : max_proc_(max_proc), stress_capable_(stress_capable) {}

    // New master.cf settings for a kept service (counts stay).
    void reconfigure(int max_proc, bool stress_capable) {
        max_proc_ = max_proc;
        stress_capable_ = stress_capable;
    }

    void add_child(pid_t pid, unsigned generation);
    StatusOutcome status(pid_t pid, unsigned generation, std::int32_t value);

    struct Removed {
        bool found = false;
        long use_count = 0;
    };
    Removed remove_child(pid_t pid);

    bool throttled() const { return throttled_; }
    void set_throttled(bool on) { throttled_ = on; }

    // Whether master should watch the listen sockets now: not throttled, no
    // child available, and below the process limit. At the limit, a
    // stress-capable service gets stock's three warnings in *warnings (at
    // most once per 1000 s).
    bool should_listen(std::time_t now, const std::string& ext_name, const std::string& name,
                       std::vector<std::string>* warnings);

    // Called when a connection makes master fork. Returns true when this
    // fork reaches the limit of a stress-capable service outside an active
    // stress period: the caller restarts the status channel so that the
    // current children make room for stress-mode ones. Extends the stress
    // period to now + 1000 s whenever the limit is reached.
    bool note_demand_spawn(std::time_t now);

    // Spawn with "stress=yes"?
    bool stress_active(std::time_t now) const { return stress_capable_ && stress_expire_ > now; }

    bool below_limit() const { return max_proc_ == 0 || total() < max_proc_; }
    int total() const { return static_cast<int>(children_.size()); }
    int available() const { return available_; }
    int max_proc() const { return max_proc_; }
    const std::map<pid_t, ChildState>& children() const { return children_; }

private:
    std::map<pid_t, ChildState> children_;
    int available_ = 0;
    int max_proc_;
    bool stress_capable_;
    bool throttled_ = false;
    std::time_t stress_expire_ = 0;
    std::time_t busy_warned_ = 0;
    bool busy_warned_ever_ = false;
};

} // namespace psm::master
