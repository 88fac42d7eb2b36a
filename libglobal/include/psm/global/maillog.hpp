// Where a daemon's log goes, from main.cf: the LogConfig for libutil's
// logger (syslog_name, syslog_facility, maillog_file, myhostname) and
// stock's maillog_file_prefixes rule. Stock daemons hand maillog_file
// lines to postlogd, which refuses a file outside the prefixes; psmaster's
// daemons append to the file themselves, so they apply the same rule at
// start-up, with the same words.
#pragma once

#include "psm/global/main_cf.hpp"
#include "psm/util/log.hpp"

#include <optional>
#include <string>

namespace psm {

// The logger settings of main.cf for `program` (e.g. "postscreen").
LogConfig maillog_config(const Config& config, const std::string& program);

// nullopt when maillog_file is empty or starts with one of the
// maillog_file_prefixes (plain string prefixes, as stock); otherwise stock's
// fatal text: "maillog_file value '/tmp/x' does not match any prefix in
// maillog_file_prefixes".
std::optional<std::string> maillog_file_problem(const Config& config);

} // namespace psm
