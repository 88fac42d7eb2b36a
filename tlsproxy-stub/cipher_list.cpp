// Cipher grade and exclusions to an OpenSSL cipher list, as stock does.
#include "cipher_list.hpp"

#include "server_settings.hpp"

#include "psm/util/text.hpp"

namespace psm::tlsproxy {

CipherList build_cipher_list(const ServerSettings& s) {
    CipherList out;
    const std::string& grade = s.cipher_grade;
    std::string list;
    if (iequals(grade, "high"))
        list = s.high_cipherlist;
    else if (iequals(grade, "medium"))
        list = s.medium_cipherlist;
    else if (iequals(grade, "low"))
        list = s.low_cipherlist;
    else if (iequals(grade, "export"))
        list = s.export_cipherlist;
    else if (iequals(grade, "null"))
        list = s.null_cipherlist;
    else {
        out.error = "invalid cipher grade: \"" + grade + "\"";
        return out;
    }
    for (const auto& token : split_tokens(s.cipher_exclusions, ", \t\r\n:")) {
        if (token.find_first_of("!+-@") == 0) {
            out.error = "invalid unary '!+-@' in cipher exclusion: " + token;
            return out;
        }
        list += ":!" + token;
    }
    out.list = std::move(list);
    return out;
}

} // namespace psm::tlsproxy
