// Tests for the engine's text helpers: header labels, UTF-8 validity, the
// escaping rules of its log lines, EHLO keyword masks, address extraction
// and RFC 822 local-part quoting, and the lookup helpers (table lists and
// string match lists).
#include "config_text.hpp"
#include "engine_text.hpp"
#include "lookup_maps.hpp"
#include "smtp_address.hpp"
#include "string_match_list.hpp"

#include "support/log_capture.hpp"

#include "psm/global/main_cf.hpp"

#include <catch2/catch.hpp>

using namespace psm::postscreen;

TEST_CASE("engine text: header labels as is_header()", "[engine_text]") {
    CHECK(is_header_label("Subject:"));
    CHECK(is_header_label("Subject\t:"));
    CHECK(is_header_label("X-a :"));
    CHECK(is_header_label("a:b"));
    CHECK_FALSE(is_header_label(":"));
    CHECK_FALSE(is_header_label(" a:"));
    CHECK_FALSE(is_header_label("a b:"));
    CHECK_FALSE(is_header_label("abc"));
    CHECK_FALSE(is_header_label("a\x01:"));
    CHECK_FALSE(is_header_label("a\x7f:"));
    CHECK_FALSE(is_header_label("\xc3\xa9:"));
    CHECK_FALSE(is_header_label(""));
}

TEST_CASE("engine text: UTF-8 validity", "[engine_text]") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8(std::string("a\0b", 3)));
    CHECK(valid_utf8("na\xc3\xafve"));
    CHECK(valid_utf8("\xf0\x9f\x98\x80"));
    CHECK_FALSE(valid_utf8("na\xc3ve"));
    CHECK_FALSE(valid_utf8("\xc0\xaf"));         // overlong
    CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));     // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));     // surrogate
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xff"));
    CHECK_FALSE(valid_utf8("\xe2\x82"));
}

TEST_CASE("engine text: cut-then-escape and printable-then-cut", "[engine_text]") {
    CHECK(escape_prefix("a\tb\\c\r\n\001\377", 100) == "a\\tb\\\\c\\r\\n\\001\\377");
    CHECK(escape_prefix(std::string(3, '\001') + "xyz", 2) == "\\001\\001");
    CHECK(printable_prefix("a\tb\xc3\xa9\xff", 100) == "a?b\xc3\xa9?");
    CHECK(printable_prefix(std::string(150, 'x'), 100) == std::string(100, 'x'));
}

TEST_CASE("engine text: EHLO keyword masks", "[engine_text]") {
    CHECK(ehlo_mask("") == 0);
    CHECK(ehlo_mask("dsn, Chunking\tnosuch") == (ehlo::kDsn | ehlo::kChunking));
    CHECK(ehlo_mask("smtputf8") == ehlo::kSmtputf8);
    CHECK(ehlo_mask("ehlo_mask_smtputf8") == ehlo::kSmtputf8);
    CHECK(ehlo_mask("silent-discard") == ehlo::kSilent);
    CHECK(ehlo_mask_names(ehlo_mask("chunking smtputf8 dsn 8bitmime auth xforward size")) ==
          "8BITMIME AUTH SIZE XFORWARD DSN EHLO_MASK_SMTPUTF8 CHUNKING");
    CHECK(ehlo_mask_names(ehlo::kStarttls | ehlo::kEtrn | ehlo::kPipelining | ehlo::kVerp | ehlo::kVrfy |
                          ehlo::kXclient | ehlo::kEnhancedStatusCodes) ==
          "ETRN PIPELINING VERP VRFY XCLIENT STARTTLS ENHANCEDSTATUSCODES");
}

TEST_CASE("engine text: address extraction", "[engine_text]") {
    CHECK(extract_address("<a@b>") == "a@b");
    CHECK(extract_address("   <a@b> SIZE=1") == "a@b");
    CHECK(extract_address("a@b SIZE=1") == "a@b");
    CHECK(extract_address("<>") == "");
    CHECK(extract_address("") == "");
    CHECK(extract_address("<\"a b\"@x>") == "a b@x");
    CHECK(extract_address("<\"a>b\"@x>") == "a>b@x");
    CHECK(extract_address("<a\\>b@x>") == "a>b@x");
    CHECK(extract_address("<a\\") == "a");
    CHECK(extract_address("<@a,@b:u@d>") == "u@d");
    CHECK(extract_address("<@a:@b:u@d>") == "@b:u@d");
    CHECK(extract_address("<@nocolon>") == "@nocolon");
    CHECK(extract_address("\t<a@b>") == "\t<a@b>");
}

TEST_CASE("engine text: RFC 822 local-part quoting (8-bit clean)", "[engine_text]") {
    CHECK(quote_822_local("user@example.com") == "user@example.com");
    CHECK(quote_822_local("first.last@x") == "first.last@x");
    CHECK(quote_822_local("a b@x") == "\"a b\"@x");
    CHECK(quote_822_local("c..d@y") == "\"c..d\"@y");
    CHECK(quote_822_local(".a@b") == "\".a\"@b");
    CHECK(quote_822_local("a.@b") == "\"a.\"@b");
    CHECK(quote_822_local("@b") == "\"\"@b");
    CHECK(quote_822_local("a\"b\\c@d") == "\"a\\\"b\\\\c\"@d");
    CHECK(quote_822_local("x@y@z") == "\"x@y\"@z");
    CHECK(quote_822_local("\xc3\xbc@x") == "\xc3\xbc@x");
    CHECK(quote_822_local("local") == "local");
    CHECK(quote_822_local("a\rb") == "\"a\\\rb\"");
    CHECK(quote_822_local("@r:a b@x") == "@r:\"a b\"@x");
    CHECK(log_address("", AddressForm::external) == "");
    CHECK(log_address("a b@x", AddressForm::internal) == "a b@x");
}

TEST_CASE("engine text: raw parameters and unescape", "[engine_text]") {
    CHECK(unescape("\\t\\40!\\\\x\\101\\q") == "\t !\\xAq");
    CHECK(unescape("end\\") == "end\\");
    psm::Config config;
    config.set_override("smtpd_reject_footer", "$a ${b}");
    CHECK(raw_parameter(config, "postscreen_reject_footer") == "$a ${b}");
    config.set_override("postscreen_reject_footer", "${smtpd_reject_footer}");
    CHECK(raw_parameter(config, "postscreen_reject_footer") == "${smtpd_reject_footer}");
    config.set_override("postscreen_reject_footer", "$nosuch_parameter_name");
    CHECK(raw_parameter(config, "postscreen_reject_footer") == "$nosuch_parameter_name");
    config.set_override("postscreen_reject_footer", "text $smtpd_reject_footer");
    CHECK(raw_parameter(config, "postscreen_reject_footer") == "text $smtpd_reject_footer");
}

TEST_CASE("engine text: table lists search in order and report problems", "[engine_text]") {
    psm::test::LogCapture log;
    psm::DictOpenOptions options;
    options.allow_surrogate = true;
    LookupMaps maps("title", "inline:{a=1}, inline:{{a=2}, {b=2}}, inline:{e=}", options);
    CHECK(maps.find("a").value == "1");
    CHECK(maps.find("b").value == "2");
    CHECK(maps.find("c").status == psm::DictStatus::not_found);
    CHECK(maps.find("").status == psm::DictStatus::not_found);
    CHECK(maps.find("e").status == psm::DictStatus::error);
    CHECK(log.lines() == std::vector<std::string>{"warning: title lookup of e returns an empty string result",
                                                  "warning: title should return NO RESULT in case of NOT FOUND"});
}

TEST_CASE("engine text: string match lists", "[engine_text]") {
    psm::DictOpenOptions options;
    StringMatchList list("pname", "CONNECT !get GET POST regexp:{{/^[^A-Z]/ Bogus}}", options);
    CHECK(list.match("connect") == StringMatch::match);
    CHECK(list.match("GeT") == StringMatch::no_match); // "!get" decides first
    CHECK(list.match("post") == StringMatch::match);
    CHECK(list.match("1x") == StringMatch::match);
    CHECK(list.match("mail") == StringMatch::no_match);
    CHECK_THROWS_WITH(StringMatchList("pname", "a !", options), "pname: no pattern after '!'");
}
