// master's command line, as stock master(8) 3.7 parses it:
//   master [-Ddistvw] [-c config_dir] [-e exit_time]
// plus psmaster's default configuration directory (/etc/psmaster).
#pragma once

#include <string>
#include <vector>

namespace psm::master {

// Where our master reads main.cf and master.cf without -c (stock's
// default is /etc/postfix; psmaster's own configuration lives beside it).
inline constexpr const char* kDefaultConfigDir = "/etc/psmaster";

struct MasterOptions {
    std::string program = "master"; // basename of argv[0]
    std::string config_dir;         // -c; empty: MAIL_CONFIG or kDefaultConfigDir
    bool debug = false;             // -D (accepted; psmaster runs no debugger)
    bool detach = true;             // cleared by -d
    long exit_time = -1;            // -e seconds; -1: never
    bool init_mode = false;         // -i (only as PID 1)
    bool keep_stdout = false;       // -s (and -i)
    bool test_lock = false;         // -t
    int verbose = 0;                // -v, repeatable
    bool wait = false;              // -w
};

// Thrown for a command line stock master rejects. what() is the text stock
// logs as "fatal: ..."; getopt_message, when not empty, is glibc getopt's
// line that stock prints to stderr first ("master: invalid option -- 'x'").
struct UsageError {
    std::string text;
    std::string getopt_message;
};

// Parses argv (argv[0] included) with stock's option letters and checks
// (-t with -w, -i constraints; -i needs is_pid1). Throws UsageError.
MasterOptions parse_master_options(const std::vector<std::string>& argv, bool is_pid1 = false);

// stock's usage text (without "fatal: ").
std::string master_usage(const std::string& program);

} // namespace psm::master
