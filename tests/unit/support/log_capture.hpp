// Test helper shared by every unit-test executable: while alive, sends the
// process log to a temporary maillog_file and returns what was logged, one
// entry per line without the "time host program[pid]: " prefix
// ("warning: ...", "CONNECT from ...").
#pragma once

#include "psm/util/log.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace psm::test {

class LogCapture {
public:
    LogCapture() {
        char tmpl[] = "/tmp/psm-logcap-XXXXXX";
        int fd = ::mkstemp(tmpl);
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        ::close(fd);
        path_ = tmpl;
        psm::LogConfig config;
        config.program = "test";
        config.maillog_file = path_;
        config.hostname = "test.example";
        psm::log_configure(config);
    }
    ~LogCapture() { ::unlink(path_.c_str()); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    const std::string& path() const { return path_; }

    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::ifstream in(path_);
        for (std::string line; std::getline(in, line);) {
            auto tag = line.find("]: ");
            out.push_back(tag == std::string::npos ? line : line.substr(tag + 3));
        }
        return out;
    }

    // Forgets what was logged so far.
    void clear() const { std::ofstream(path_, std::ios::trunc); }

private:
    std::string path_;
};

} // namespace psm::test
