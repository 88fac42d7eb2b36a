// Raw text parameters and C unescaping (see config_text.hpp).
#include "config_text.hpp"

#include "psm/global/main_cf.hpp"

namespace psm::postscreen {

std::string raw_parameter(const Config& config, std::string_view name) {
    std::string value = config.raw(name).value_or(std::string());
    if (value.size() > 1 && value.front() == '$') {
        std::string_view other = std::string_view(value).substr(1);
        bool plain_name = other.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
                          std::string_view::npos;
        if (plain_name) {
            if (auto replaced = config.raw(other)) return *replaced;
        }
    }
    return value;
}

std::string unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '\\' || i + 1 == text.size()) {
            out += c;
            continue;
        }
        c = text[++i];
        switch (c) {
        case 'a':
            out += '\a';
            break;
        case 'b':
            out += '\b';
            break;
        case 'f':
            out += '\f';
            break;
        case 'n':
            out += '\n';
            break;
        case 'r':
            out += '\r';
            break;
        case 't':
            out += '\t';
            break;
        case 'v':
            out += '\v';
            break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
            unsigned value = static_cast<unsigned>(c - '0');
            for (int k = 0; k < 2 && i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7'; ++k)
                value = value * 8 + static_cast<unsigned>(text[++i] - '0');
            out += static_cast<char>(value & 0xff);
            break;
        }
        default:
            out += c;
            break;
        }
    }
    return out;
}

} // namespace psm::postscreen
