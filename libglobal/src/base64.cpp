// Base64 encoding and strict decoding (standard alphabet, '=' padding).
#include "base64.hpp"

#include <array>
#include <cstdint>

namespace psm::base64 {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
    std::array<std::int8_t, 256> table{};
    for (auto& v : table)
        v = -1;
    for (int i = 0; i < 64; ++i)
        table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}

constexpr auto kReverse = make_reverse();

} // namespace

void encode(std::string& out, std::string_view raw) {
    out.reserve(out.size() + (raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= raw.size(); i += 3) {
        std::uint32_t n = static_cast<unsigned char>(raw[i]) << 16 | static_cast<unsigned char>(raw[i + 1]) << 8 |
                          static_cast<unsigned char>(raw[i + 2]);
        out += kAlphabet[n >> 18 & 63];
        out += kAlphabet[n >> 12 & 63];
        out += kAlphabet[n >> 6 & 63];
        out += kAlphabet[n & 63];
    }
    std::size_t left = raw.size() - i;
    if (left == 0) return;
    std::uint32_t n = static_cast<unsigned char>(raw[i]) << 16;
    if (left == 2) n |= static_cast<unsigned char>(raw[i + 1]) << 8;
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += left == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
}

std::optional<std::string> decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int pad = 0;
        std::uint32_t n = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            unsigned char c = static_cast<unsigned char>(text[i + k]);
            if (c == '=') {
                // Padding only in the last quantum's final one or two positions.
                if (!last || k < 2) return std::nullopt;
                ++pad;
                n <<= 6;
                continue;
            }
            if (pad > 0 || kReverse[c] < 0) return std::nullopt;
            n = n << 6 | static_cast<std::uint32_t>(kReverse[c]);
        }
        out += static_cast<char>(n >> 16 & 0xff);
        if (pad < 2) out += static_cast<char>(n >> 8 & 0xff);
        if (pad < 1) out += static_cast<char>(n & 0xff);
    }
    return out;
}

} // namespace psm::base64
