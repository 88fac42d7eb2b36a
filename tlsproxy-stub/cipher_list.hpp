// Postfix's cipher grades: the OpenSSL cipher list for a grade ("high",
// "medium", "low", "export", "null": the tls_<grade>_cipherlist parameter)
// minus the configured exclusions (each appended as ":!NAME").
#pragma once

#include <string>

namespace psm::tlsproxy {

struct ServerSettings;

struct CipherList {
    std::string list;  // the OpenSSL cipher list; empty when error is set
    std::string error; // stock's warning after "<peer>: ", e.g. "invalid cipher grade: \"ultra\""
};

CipherList build_cipher_list(const ServerSettings& settings);

} // namespace psm::tlsproxy
