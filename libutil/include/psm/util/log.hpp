// Logging in Postfix's format: "postfix/<program>[pid]: [severity: ]text",
// to syslog by default or, with maillog_file set, appended to that file as
// "Mon DD HH:MM:SS host postfix/<program>[pid]: text" (postlogd's shape).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#define PSM_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))

namespace psm {

struct LogConfig {
    std::string syslog_name = "postfix"; // main.cf syslog_name
    std::string program;                 // basename of argv[0], e.g. "postscreen"
    std::string facility = "mail";       // main.cf syslog_facility
    std::string maillog_file;            // main.cf maillog_file; empty = syslog
    std::string hostname;                // myhostname; the file shows its first label
    bool also_stderr = false;            // -d / -v: copy every line to stderr
};

// (Re)configures the process-wide logger. Throws std::invalid_argument for an
// unknown facility name and std::system_error when maillog_file can't be
// opened; the previous configuration stays in effect in both cases.
void log_configure(const LogConfig& config);

// For an event-driven process: maillog_file lines of severity info are kept
// and written together (whole lines, one write(2)) by log_flush(), which
// schedule_flush must arrange to run soon (e.g. post it to the event loop);
// it is called, from the logging thread, when a first line is kept. Warnings
// and worse write what is kept and themselves at once, as do 32 KiB of kept
// lines, a fork and the process's normal exit; an abnormal end loses what
// its last turn kept. An empty function ends batching (writing what is kept).
// Syslog lines are never kept.
void log_batch_writes(std::function<void()> schedule_flush);
void log_flush();

// The "postfix/program" tag currently in use.
const std::string& log_tag();

// Verbosity from -v (each -v adds one); msg_verbose > 0 enables debug lines.
extern int msg_verbose;

void msg_info(const char* fmt, ...) PSM_PRINTF(1, 2);
void msg_warn(const char* fmt, ...) PSM_PRINTF(1, 2);
void msg_error(const char* fmt, ...) PSM_PRINTF(1, 2);
[[noreturn]] void msg_fatal(const char* fmt, ...) PSM_PRINTF(1, 2);
[[noreturn]] void msg_panic(const char* fmt, ...) PSM_PRINTF(1, 2);

// Postfix's printable(): every byte that is neither printable ASCII nor part
// of a well-formed UTF-8 sequence becomes '?'. Applied to every log line.
std::string log_printable(std::string_view text);

// Exit status used by msg_fatal (Postfix exits 1). Tests may override the
// fatal behaviour to throw instead of exiting.
struct FatalError {
    std::string text;
};
void log_throw_on_fatal(bool enable);

} // namespace psm
