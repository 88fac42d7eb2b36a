// MAIL/RCPT address extraction and logging form (see smtp_address.hpp).
#include "smtp_address.hpp"

#include "smtp_engine.hpp"

namespace psm::postscreen {

std::string extract_address(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && text[i] == ' ')
        ++i;
    char stop_at = ' ';
    if (i < text.size() && text[i] == '<') {
        stop_at = '>';
        ++i;
    }
    std::string out;
    bool in_quote = false;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (!in_quote && c == stop_at) break;
        if (c == '"') {
            in_quote = !in_quote;
            continue;
        }
        if (c == '\\') {
            if (++i == text.size()) break;
            c = text[i];
        }
        out += c;
    }
    // Deprecated source route: keep what follows the first ':'.
    if (!out.empty() && out.front() == '@') {
        if (std::size_t colon = out.find(':'); colon != std::string::npos) out.erase(0, colon + 1);
    }
    return out;
}

namespace {

bool is_822_dot_string(std::string_view local) {
    if (local.empty() || local.front() == '.' || local.back() == '.') return false;
    for (std::size_t i = 0; i < local.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(local[i]);
        if (c == '.' && i + 1 < local.size() && local[i + 1] == '.') return false;
        if (c >= 0x80) continue; // 8-bit clean
        if (c == ' ' || c < 0x20 || c == 0x7f) return false;
        switch (c) {
        case '(':
        case ')':
        case '<':
        case '>':
        case '@':
        case ',':
        case ';':
        case ':':
        case '\\':
        case '"':
        case '[':
        case ']':
            return false;
        default:
            break;
        }
    }
    return true;
}

} // namespace

std::string quote_822_local(std::string_view address) {
    std::size_t start = 0;
    if (!address.empty() && address.front() == '@') {
        if (std::size_t colon = address.find(':'); colon != std::string_view::npos) start = colon + 1;
    }
    std::size_t end = address.rfind('@');
    if (end == std::string_view::npos || end < start) end = address.size();
    std::string_view local = address.substr(start, end - start);
    if (is_822_dot_string(local)) return std::string(address);
    std::string out(address.substr(0, start));
    out += '"';
    for (char c : local) {
        if (c == '"' || c == '\\' || c == '\r') out += '\\';
        out += c;
    }
    out += '"';
    out += address.substr(end);
    return out;
}

std::string log_address(std::string_view address, AddressForm form) {
    if (address.empty() || form != AddressForm::external) return std::string(address);
    return quote_822_local(address);
}

} // namespace psm::postscreen
