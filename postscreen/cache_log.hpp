// Log lines produced on the cache worker thread, handed to the event loop's
// thread to be written (the logger is single-threaded), plus the once-per-
// second rate limit stock applies to cache I/O warnings.
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace psm::postscreen {

struct CacheLogLine {
    enum class Severity { info, warning, error } severity = Severity::info;
    std::string text;
};

struct CacheLog {
    std::vector<CacheLogLine> lines;
    void info(std::string text) { lines.push_back({CacheLogLine::Severity::info, std::move(text)}); }
    void warning(std::string text) { lines.push_back({CacheLogLine::Severity::warning, std::move(text)}); }
    void error(std::string text) { lines.push_back({CacheLogLine::Severity::error, std::move(text)}); }
};

// Writes the lines with msg_info/msg_warn/msg_error (event-loop thread only).
void emit(const std::vector<CacheLogLine>& lines);

// Stock's msg_rate_delay() with a one-second delay: true when a warning of
// this kind may be logged now.
class RateLimit {
public:
    bool allow(std::time_t now) {
        if (now < next_) return false;
        next_ = now + 1;
        return true;
    }

private:
    std::time_t next_ = 0;
};

} // namespace psm::postscreen
