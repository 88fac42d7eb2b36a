// master's command line: getopt("c:Dde:istvw") semantics (clustered flags,
// attached or separate arguments, "--" ends the options) and stock's
// wording for every rejection.
#include "options.hpp"

#include <cstdlib>
#include <string_view>

namespace psm::master {

namespace {

std::string basename_of(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

[[noreturn]] void usage(const MasterOptions& o, std::string getopt_message = {}) {
    throw UsageError{master_usage(o.program), std::move(getopt_message)};
}

} // namespace

std::string master_usage(const std::string& program) {
    return "usage: " + program +
           " [-c config_dir] [-D (debug)] [-d (don't detach from terminal)] [-e exit_time] [-t (test)] [-v] "
           "[-w (wait for initialization)]";
}

MasterOptions parse_master_options(const std::vector<std::string>& argv, bool is_pid1) {
    MasterOptions o;
    if (!argv.empty()) o.program = basename_of(argv[0]);
    const std::string& me = argv.empty() ? o.program : argv[0];
    std::size_t i = 1;
    for (; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (word == "--") {
            ++i;
            break;
        }
        if (word.size() < 2 || word[0] != '-') break;
        for (std::size_t k = 1; k < word.size(); ++k) {
            const char c = word[k];
            switch (c) {
            case 'D':
                o.debug = true;
                continue;
            case 'd':
                o.detach = false;
                continue;
            case 'i':
                if (!is_pid1) throw UsageError{"-i is allowed only for PID 1 process", {}};
                o.init_mode = true;
                o.keep_stdout = true;
                continue;
            case 's':
                o.keep_stdout = true;
                continue;
            case 't':
                o.test_lock = true;
                continue;
            case 'v':
                ++o.verbose;
                continue;
            case 'w':
                o.wait = true;
                continue;
            case 'c':
            case 'e': {
                std::string arg;
                if (k + 1 < word.size()) {
                    arg = word.substr(k + 1);
                } else if (i + 1 < argv.size()) {
                    arg = argv[++i];
                } else {
                    usage(o, me + ": option requires an argument -- '" + std::string(1, c) + "'");
                }
                if (c == 'c')
                    o.config_dir = arg;
                else
                    o.exit_time = std::atoi(arg.c_str()); // stock: atoi()
                k = word.size();
                continue;
            }
            default:
                usage(o, me + ": invalid option -- '" + std::string(1, c) + "'");
            }
        }
    }
    if (i < argv.size()) usage(o); // no other arguments
    if (o.test_lock && o.wait) throw UsageError{"the -t and -w options cannot be used together", {}};
    if (o.init_mode && (o.debug || !o.detach || o.wait))
        throw UsageError{"the -i option cannot be used with -D, -d, or -w", {}};
    return o;
}

} // namespace psm::master
