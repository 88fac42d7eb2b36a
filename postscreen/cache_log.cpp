// Writing the cache worker's log lines on the event loop's thread.
#include "cache_log.hpp"

#include "psm/util/log.hpp"

namespace psm::postscreen {

void emit(const std::vector<CacheLogLine>& lines) {
    for (const auto& line : lines) {
        switch (line.severity) {
        case CacheLogLine::Severity::info:
            msg_info("%s", line.text.c_str());
            break;
        case CacheLogLine::Severity::warning:
            msg_warn("%s", line.text.c_str());
            break;
        case CacheLogLine::Severity::error:
            msg_error("%s", line.text.c_str());
            break;
        }
    }
}

} // namespace psm::postscreen
