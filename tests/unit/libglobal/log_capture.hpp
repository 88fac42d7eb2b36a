// Test helper: sends the process log to a temporary file while alive and
// returns the logged texts ("warning: ..." without the "program[pid]: " part).
#pragma once

#include "psm/util/log.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace psm_test {

class LogCapture {
public:
    LogCapture() {
        char tmpl[] = "/tmp/psm-logcap-XXXXXX";
        int fd = ::mkstemp(tmpl);
        if (fd >= 0) ::close(fd);
        path_ = tmpl;
        psm::LogConfig config;
        config.program = "test";
        config.maillog_file = path_;
        psm::log_configure(config);
    }
    ~LogCapture() { ::unlink(path_.c_str()); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::ifstream in(path_);
        for (std::string line; std::getline(in, line);) {
            auto tag = line.find("]: ");
            out.push_back(tag == std::string::npos ? line : line.substr(tag + 3));
        }
        return out;
    }

private:
    std::string path_;
};

} // namespace psm_test
