// Process accounting (see accounting.hpp).
#include "accounting.hpp"

namespace psm::master {

namespace {
constexpr std::int32_t kTaken = 0;
constexpr std::int32_t kAvail = 1;
constexpr std::time_t kStressPeriod = 1000;
constexpr std::time_t kBusyWarnInterval = 1000;
} // namespace

void ProcessAccounting::add_child(pid_t pid, unsigned generation) {
    ChildState c;
    c.pid = pid;
    c.generation = generation;
    c.available = true;
    auto [it, inserted] = children_.insert_or_assign(pid, c);
    (void)it;
    if (inserted) ++available_;
}

StatusOutcome ProcessAccounting::status(pid_t pid, unsigned generation, std::int32_t value) {
    auto it = children_.find(pid);
    if (it == children_.end()) return StatusOutcome::unknown_pid;
    ChildState& c = it->second;
    if (c.generation != generation) return StatusOutcome::wrong_generation;
    if ((value == kAvail && c.available) || (value == kTaken && !c.available)) return StatusOutcome::unchanged;
    if (value == kAvail) {
        ++c.use_count;
        c.available = true;
        ++available_;
        return StatusOutcome::now_available;
    }
    if (value == kTaken) {
        c.available = false;
        --available_;
        return StatusOutcome::now_taken;
    }
    return StatusOutcome::bad_value;
}

ProcessAccounting::Removed ProcessAccounting::remove_child(pid_t pid) {
    Removed r;
    auto it = children_.find(pid);
    if (it == children_.end()) return r;
    r.found = true;
    r.use_count = it->second.use_count;
    if (it->second.available) --available_;
    children_.erase(it);
    return r;
}

bool ProcessAccounting::should_listen(std::time_t now, const std::string& ext_name, const std::string& name,
                                      std::vector<std::string>* warnings) {
    if (throttled_ || available_ > 0) return false;
    if (below_limit()) return true;
    if (stress_capable_ && (!busy_warned_ever_ || busy_warned_ < now - kBusyWarnInterval)) {
        busy_warned_ = now;
        busy_warned_ever_ = true;
        if (warnings) {
            warnings->push_back("service \"" + ext_name + "\" (" + name + ") has reached its process limit \"" +
                                std::to_string(max_proc_) + "\": new clients may experience noticeable delays");
            warnings->push_back("to avoid this condition, increase the process count in master.cf or reduce the "
                                "service time per client");
            warnings->push_back("see http://www.postfix.org/STRESS_README.html for examples of stress-adapting "
                                "configuration settings");
        }
    }
    return false;
}

bool ProcessAccounting::note_demand_spawn(std::time_t now) {
    if (!stress_capable_) return false;
    if (max_proc_ == 0 || total() + 1 < max_proc_) return false;
    const bool restart = stress_expire_ < now;
    stress_expire_ = now + kStressPeriod;
    return restart;
}

} // namespace psm::master
