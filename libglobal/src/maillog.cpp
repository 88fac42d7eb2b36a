// main.cf's logging parameters for libutil's logger, and stock's
// maillog_file_prefixes check (see maillog.hpp).
#include "psm/global/maillog.hpp"

#include "psm/util/text.hpp"

namespace psm {

LogConfig maillog_config(const Config& config, const std::string& program) {
    LogConfig lc;
    lc.program = program;
    lc.syslog_name = config.get_str("syslog_name");
    lc.facility = config.get_str("syslog_facility");
    lc.maillog_file = config.get_str("maillog_file");
    lc.hostname = config.get_str("myhostname");
    return lc;
}

std::optional<std::string> maillog_file_problem(const Config& config) {
    const std::string file = config.get_str("maillog_file");
    if (file.empty()) return std::nullopt;
    for (const std::string& prefix : split_tokens(config.get_str("maillog_file_prefixes")))
        if (file.compare(0, prefix.size(), prefix) == 0) return std::nullopt;
    return "maillog_file value '" + file + "' does not match any prefix in maillog_file_prefixes";
}

} // namespace psm
