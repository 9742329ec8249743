#include "typenet/train/escape.hpp"

#include <cstddef>
#include <cstdio>
#include <utility>

namespace typenet::train {

namespace {

constexpr char32_t invalid = 0xFFFFFFFF;
constexpr const char* replacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// The code point of the UTF-8 sequence starting at s[i] and its length in bytes, or
// (invalid, 1) when s[i] does not start a valid sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
std::pair<char32_t, std::size_t> decode(const std::string& s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) return {b0, 1};
    std::size_t n;
    char32_t cp, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 2, cp = b0 & 0x1Fu, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF) n = 3, cp = b0 & 0x0Fu, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4) n = 4, cp = b0 & 0x07u, min = 0x10000;
    else return {invalid, 1};
    if (i + n > s.size()) return {invalid, 1};
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return {invalid, 1};
        cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {invalid, 1};
    return {cp, n};
}

}  // namespace

std::string json_string(const std::string& s) {
    std::string o(1, '"');
    for (std::size_t i = 0; i < s.size();) {
        const auto [cp, n] = decode(s, i);
        if (cp == invalid) {
            o += replacement;
        } else if (cp < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(cp));
            o += buf;
        } else {
            if (cp == '"' || cp == '\\') o += '\\';
            o.append(s, i, n);
        }
        i += n;
    }
    return o += '"';
}

std::string xml_escape(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto [cp, n] = decode(s, i);
        switch (cp) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&apos;"; break;
            case '\t': o += "&#9;"; break;
            case '\n': o += "&#10;"; break;
            case '\r': o += "&#13;"; break;
            default:
                // XML 1.0 (section 2.2, Char) has no form for the other C0 controls, U+FFFE and
                // U+FFFF, not even a character reference: they become U+FFFD, as invalid bytes do.
                if (cp == invalid || cp < 0x20 || cp == 0xFFFE || cp == 0xFFFF) o += replacement;
                else o.append(s, i, n);
        }
        i += n;
    }
    return o;
}

}  // namespace typenet::train
