// OpenSSL's error queue as Postfix's "TLS library problem" warnings.
#include "tls_errors.hpp"

#include "psm/util/log.hpp"

#include <openssl/err.h>

#include <array>

namespace psm::tlsproxy {

std::vector<std::string> take_tls_errors() {
    std::vector<std::string> out;
    const char* file = nullptr;
    const char* data = nullptr;
    int line = 0;
    int flags = 0;
    // Bounded: the queue holds at most ERR_NUM_ERRORS entries.
    while (unsigned long err = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) {
        std::array<char, 1024> text{};
        ERR_error_string_n(err, text.data(), text.size());
        std::string entry = "TLS library problem: ";
        entry += text.data();
        entry += ':';
        entry += file ? file : "";
        entry += ':';
        entry += std::to_string(line);
        entry += ':';
        if ((flags & ERR_TXT_STRING) && data) {
            entry += data;
            entry += ':';
        }
        out.push_back(std::move(entry));
    }
    return out;
}

void log_tls_errors() {
    for (const auto& text : take_tls_errors())
        msg_warn("%s", text.c_str());
}

} // namespace psm::tlsproxy
