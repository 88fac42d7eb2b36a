// The daemon command line as stock's skeletons parse it (getopt with
// "+cdDi:lm:n:o:r:s:St:uvVz", plus psmaster's -L), and the bytes of the
// master status message.
#include "psm/global/daemon.hpp"

#include "psm/util/error.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace psm {

namespace {

// atoi(): optional blanks and sign, leading digits, junk ignored.
long leading_number(const std::string& text) {
    return std::strtol(text.c_str(), nullptr, 10);
}

std::string basename_of(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

constexpr std::string_view kFlags = "cdDlSuvVz";
constexpr std::string_view kWithArgument = "imnorstL";

} // namespace

DaemonOptions parse_daemon_options(const std::vector<std::string>& argv) {
    DaemonOptions o;
    o.program = argv.empty() ? std::string("postfix") : basename_of(argv[0]);
    o.service_name = o.program;
    std::size_t i = 1;
    for (; i < argv.size(); ++i) {
        const std::string& word = argv[i];
        if (word == "--") {
            ++i;
            break;
        }
        if (word.size() < 2 || word[0] != '-') break; // '+': options end at the first operand
        for (std::size_t k = 1; k < word.size(); ++k) {
            char c = word[k];
            if (kFlags.find(c) != std::string_view::npos) {
                switch (c) {
                case 'c':
                    o.chroot = true;
                    break;
                case 'd':
                    o.no_detach = true;
                    break;
                case 'D':
                    o.debug = true;
                    break;
                case 'l':
                    o.limit_one = true;
                    break;
                case 'S':
                    o.stand_alone = true;
                    break;
                case 'u':
                    o.unprivileged = true;
                    break;
                case 'v':
                    ++o.verbose;
                    break;
                case 'V':
                    o.log_stderr = true;
                    break;
                case 'z':
                    o.limit_zero = true;
                    break;
                }
                continue;
            }
            if (kWithArgument.find(c) == std::string_view::npos) throw ConfigError(std::string("invalid option: ") + c);
            std::string arg;
            if (k + 1 < word.size()) {
                arg = word.substr(k + 1);
            } else if (i + 1 < argv.size()) {
                arg = argv[++i];
            } else {
                throw ConfigError(std::string("invalid option: ") + c);
            }
            switch (c) {
            case 'i':
                o.settings.emplace_back("max_idle", arg);
                break;
            case 'm':
                o.settings.emplace_back("max_use", arg);
                break;
            case 'n':
                o.service_name = arg;
                break;
            case 'o': {
                std::string error;
                auto nv = split_name_value(arg, &error);
                if (!nv) throw ConfigError("invalid \"-o " + arg + "\" option value: " + error);
                o.settings.emplace_back(nv->name, nv->value);
                break;
            }
            case 'r':
                if ((o.retire = leading_number(arg)) <= 0) throw ConfigError("invalid retirement time: " + arg);
                break;
            case 's': {
                long n = leading_number(arg);
                if (n <= 0 || n > 1000) throw ConfigError("invalid socket_count: " + arg);
                o.socket_count = static_cast<int>(n);
                break;
            }
            case 't':
                o.transport = arg;
                break;
            case 'L':
                o.listen.push_back(arg);
                break;
            }
            break; // the argument used up the rest of this word
        }
    }
    o.args.assign(argv.begin() + static_cast<long>(std::min(i, argv.size())), argv.end());
    return o;
}

std::array<char, 12> master_status_message(pid_t pid, unsigned generation, MasterStatus status) {
    std::array<char, 12> out{};
    std::int32_t p = pid;
    std::uint32_t g = generation;
    std::int32_t s = static_cast<std::int32_t>(status);
    std::memcpy(out.data(), &p, 4);
    std::memcpy(out.data() + 4, &g, 4);
    std::memcpy(out.data() + 8, &s, 4);
    return out;
}

std::optional<unsigned> parse_generation(std::string_view text) {
    // Stock: all digits (alldig), then read as octal; an empty value passes
    // alldig() and reads as 0.
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        if (c > '7') return std::nullopt;
        value = value * 8 + static_cast<unsigned>(c - '0');
    }
    return value;
}

} // namespace psm
