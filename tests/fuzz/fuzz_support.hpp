// Shared by every fuzz target: the libFuzzer entry point's declaration, a
// one-time set-up that sends our log lines to /dev/null (a fuzzer runs
// millions of inputs; warnings are expected for bad input) and makes
// msg_fatal throw instead of exiting, and a little reader that lets one
// input choose options before the bytes under test.
#pragma once

#include "psm/util/log.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace psm::fuzz {

inline void quiet_logging() {
    static const bool done = [] {
        LogConfig config;
        config.program = "fuzz";
        config.maillog_file = "/dev/null";
        config.hostname = "fuzz.example";
        log_configure(config);
        log_throw_on_fatal(true);
        return true;
    }();
    (void)done;
}

// Takes option bytes from the front of the input; what is left is the data.
class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

    // The next byte (0 once the input is exhausted).
    std::uint8_t byte() {
        if (rest_.empty()) return 0;
        auto b = static_cast<std::uint8_t>(rest_.front());
        rest_.remove_prefix(1);
        return b;
    }
    std::string_view rest() const { return rest_; }

private:
    std::string_view rest_;
};

} // namespace psm::fuzz
