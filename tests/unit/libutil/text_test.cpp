// Tests for the Postfix-semantics string tools.
#include "psm/util/text.hpp"

#include <cctype>

#include <catch2/catch.hpp>

using psm::split_tokens;
using psm::split_tokens_braced;
using V = std::vector<std::string>;

TEST_CASE("split_tokens splits on commas and blanks, dropping empties", "[text]") {
    CHECK(split_tokens("a, b,,c\t d\n") == V{"a", "b", "c", "d"});
    CHECK(split_tokens("") == V{});
    CHECK(split_tokens(" ,, ") == V{});
    CHECK(split_tokens("x:y", ":") == V{"x", "y"});
}

TEST_CASE("split_tokens_braced keeps braced groups whole", "[text]") {
    CHECK(split_tokens_braced("permit_mynetworks, cidr:{ {1.2.3.4 reject}, {0/0 dunno} } , reject") ==
          V{"permit_mynetworks", "cidr:{ {1.2.3.4 reject}, {0/0 dunno} }", "reject"});
    CHECK(split_tokens_braced("-o { a = b c } x") == V{"-o", "{ a = b c }", "x"});
    CHECK(split_tokens_braced("{ unbalanced x y") == V{"{ unbalanced x y"});
}

TEST_CASE("strip_braces removes one level of braces and blanks", "[text]") {
    CHECK(psm::strip_braces("  { a = b c }  ") == std::optional<std::string>("a = b c"));
    CHECK(psm::strip_braces("plain ") == std::optional<std::string>("plain"));
    CHECK(psm::strip_braces("{ {x} }") == std::optional<std::string>("{x}"));
    std::string err;
    CHECK_FALSE(psm::strip_braces("{ a", &err));
    CHECK(err == "missing '}' in \"{ a\"");
    CHECK_FALSE(psm::strip_braces("{a}b", &err));
    CHECK(err == "syntax error after '}' in \"{a}b\"");
}

TEST_CASE("c_escape matches Postfix escape()", "[text]") {
    CHECK(psm::c_escape("EHLO x\r\n") == "EHLO x\\r\\n");
    CHECK(psm::c_escape(std::string("a\\b\t\x01\xff\0", 7)) == "a\\\\b\\t\\001\\377\\000");
    CHECK(psm::c_escape("\a\b\f\v") == "\\a\\b\\f\\v");
}

TEST_CASE("case helpers", "[text]") {
    CHECK(psm::lowercase("PERMIT_MyNetworks") == "permit_mynetworks");
    CHECK(psm::uppercase("ehlo") == "EHLO");
    CHECK(psm::iequals("Dunno", "dUNNO"));
    CHECK_FALSE(psm::iequals("dunno", "dunn"));
    CHECK(psm::trim("  x y \t") == "x y");
}

TEST_CASE("case folding is the C locale's, for every byte value", "[text]") {
    // The daemons never call setlocale(): what <cctype> does in the "C"
    // locale is the reference, byte for byte (bytes >= 0x80 stay as they are).
    std::string all;
    for (int c = 0; c < 256; ++c) {
        const char ch = static_cast<char>(c);
        CHECK(psm::ascii_lower(ch) == static_cast<char>(std::tolower(c)));
        CHECK(psm::ascii_upper(ch) == static_cast<char>(std::toupper(c)));
        all.push_back(ch);
    }
    std::string lower = all, upper = all;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(psm::lowercase(all) == lower);
    CHECK(psm::uppercase(all) == upper);
    CHECK(psm::iequals(all, upper));
    CHECK(psm::iequals(lower, upper));
    CHECK_FALSE(psm::iequals("\xc4", "\xe4")); // not ASCII letters: no folding
}
