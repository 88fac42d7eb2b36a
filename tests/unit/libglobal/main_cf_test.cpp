// main.cf: logical lines, name = value, file:line errors and the layered Config, worded as stock 3.7.11.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

#include "psm/global/main_cf.hpp"

using psm::Config;
using psm::ConfigError;
using psm::MainCfFile;

namespace {

std::string error_of(std::string_view text) {
    try {
        psm::parse_main_cf(text, "/etc/x/main.cf");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

Config config_of(std::string_view text, std::string dir = "/tmp/cfg") {
    return Config::from_main_cf(psm::parse_main_cf(text, dir + "/main.cf"), dir);
}

template <typename F> std::string config_error(F&& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

// A temporary directory with a main.cf whose mtime is a minute back (stock
// and we re-read files that are younger than a second).
struct TempConfigDir {
    std::string path;
    explicit TempConfigDir(const std::string& main_cf) {
        char tmpl[] = "/tmp/psm-main-cf-XXXXXX";
        path = ::mkdtemp(tmpl);
        std::ofstream(path + "/main.cf") << main_cf;
        struct timespec times[2] = {{::time(nullptr) - 60, 0}, {::time(nullptr) - 60, 0}};
        ::utimensat(AT_FDCWD, (path + "/main.cf").c_str(), times, 0);
    }
    ~TempConfigDir() {
        std::remove((path + "/main.cf").c_str());
        ::rmdir(path.c_str());
    }
};

} // namespace

TEST_CASE("main.cf logical lines and name = value", "[main_cf]") {
    MainCfFile f = psm::parse_main_cf("# comment\n"
                                      "myhostname = a # not a comment\n"
                                      "  #c\n"
                                      "  d\n"
                                      "\n"
                                      "   \t\n"
                                      "mydomain=\texample.org \t\n"
                                      "smtpd_banner = x\n"
                                      "\n"
                                      "  # comment between continuation lines\n"
                                      "   y\n"
                                      "empty =\n"
                                      "crlf = v\r\n"
                                      "last = no newline",
                                      "/etc/x/main.cf");
    REQUIRE(f.entries.size() == 6);
    CHECK(f.entries[0].name == "myhostname");
    CHECK(f.entries[0].value == "a # not a comment  d"); // continuation keeps its blanks
    CHECK(f.entries[0].line == 2);
    CHECK(f.entries[1].value == "example.org");
    CHECK(f.entries[1].line == 7);
    CHECK(f.entries[2].value == "x   y");
    CHECK(f.entries[3].value.empty());
    CHECK(f.entries[4].value == "v");
    CHECK(f.entries[5].value == "no newline");
    CHECK(f.entries[5].line == 14);
    CHECK(f.warnings.empty());
    REQUIRE(f.find("mydomain") != nullptr);
    CHECK(f.find("nosuch") == nullptr);
}

TEST_CASE("main.cf later entries replace earlier ones with stock's warning", "[main_cf]") {
    MainCfFile f = psm::parse_main_cf("a = 1\nb = 2\na = 3\nb = 2\n", "/etc/x/main.cf");
    REQUIRE(f.entries.size() == 2);
    CHECK(f.entries[0].value == "3");
    CHECK(f.entries[0].line == 3);
    // An identical redefinition is silent.
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0] == "/etc/x/main.cf, line 3: overriding earlier entry: a=1");
}

TEST_CASE("main.cf text after a NUL byte is ignored", "[main_cf]") {
    using namespace std::string_literals;
    MainCfFile f = psm::parse_main_cf("myhostname = x\0y\n  z\nb = 1\n"s, "/etc/x/main.cf");
    REQUIRE(f.entries.size() == 2);
    CHECK(f.entries[0].value == "x");
}

TEST_CASE("main.cf continuation without a preceding line is skipped with a warning", "[main_cf]") {
    MainCfFile f = psm::parse_main_cf(" foo = bar\n  more\n\nmyhostname = a\n  b\n", "/etc/x/main.cf");
    REQUIRE(f.entries.size() == 1);
    CHECK(f.entries[0].value == "a  b"); // only the start of a file can have such a line
    REQUIRE(f.warnings.size() == 1);
    CHECK(f.warnings[0] == "/etc/x/main.cf: logical line must not start with whitespace: \" foo = bar  more\"");
    MainCfFile g = psm::parse_main_cf("\t this line is longer than thirty characters\n", "/etc/x/main.cf");
    CHECK(g.entries.empty());
    REQUIRE(g.warnings.size() == 1);
    CHECK(g.warnings[0] ==
          "/etc/x/main.cf: logical line must not start with whitespace: \"\t this line is longer than thi...\"");
}

TEST_CASE("main.cf syntax errors name the file and the first line", "[main_cf]") {
    CHECK(error_of("foo = bar\nbadline\n  cont\n") ==
          "/etc/x/main.cf, line 2: missing '=' after attribute name: \"badline  cont\"");
    CHECK(error_of("=x\n") == "/etc/x/main.cf, line 1: missing attribute name: \"=x\"");
    CHECK(error_of("# c\n\nmyhostname\n") ==
          "/etc/x/main.cf, line 3: missing '=' after attribute name: \"myhostname\"");
    CHECK(error_of("a b = c\n") == "/etc/x/main.cf, line 1: missing '=' after attribute name: \"a b = c\"");
}

TEST_CASE("split_name_value trims like split_nameval", "[main_cf]") {
    std::string why;
    auto nv = psm::split_name_value("  name =  value with  blanks \t");
    REQUIRE(nv);
    CHECK(nv->name == "name");
    CHECK(nv->value == "value with  blanks");
    CHECK(psm::split_name_value("a=b=c")->value == "b=c");
    CHECK_FALSE(psm::split_name_value("novalue", &why));
    CHECK(why == "missing '=' after attribute name");
    CHECK_FALSE(psm::split_name_value(" = x", &why));
    CHECK(why == "missing attribute name");
    CHECK_FALSE(psm::split_name_value("   ", &why));
    CHECK(why == "missing attribute name");
}

TEST_CASE("read_main_cf and Config::load", "[main_cf]") {
    CHECK(config_error([] { psm::read_main_cf("/nonexistent/psm/main.cf"); }) ==
          "open /nonexistent/psm/main.cf: No such file or directory");
    TempConfigDir dir("myhostname = mail.example.org\nconfig_directory = /elsewhere\n");
    Config c = Config::load(dir.path);
    CHECK(c.config_directory() == dir.path);
    CHECK(c.get_str("myhostname") == "mail.example.org");
    CHECK(c.main_cf().path == dir.path + "/main.cf");
    // config_directory is set before main.cf is read, as in stock.
    REQUIRE(c.main_cf().warnings.size() == 1);
    CHECK(c.main_cf().warnings[0] ==
          dir.path + "/main.cf, line 2: overriding earlier entry: config_directory=" + dir.path);
    CHECK(c.raw("config_directory") == "/elsewhere");
}

TEST_CASE("Config sources: -o over main.cf over built-in defaults", "[main_cf]") {
    Config c = config_of("myhostname = from-main.example\nfoo = $myhostname\n");
    CHECK(c.source("myhostname") == Config::Source::main_cf);
    CHECK(c.source("mail_name") == Config::Source::builtin);
    CHECK(c.source("foo") == Config::Source::main_cf);
    CHECK(c.source("nosuch") == Config::Source::none);
    CHECK(c.source("config_directory") == Config::Source::main_cf);
    CHECK(c.raw("config_directory") == "/tmp/cfg");
    CHECK(c.raw("foo") == "$myhostname");
    CHECK_FALSE(c.raw("nosuch"));
    CHECK(c.expand("$foo") == "from-main.example");

    c.set_override("myhostname", "from-o.example");
    CHECK(c.source("myhostname") == Config::Source::override);
    CHECK(c.get_str("myhostname") == "from-o.example");
    CHECK(c.expand("$foo") == "from-o.example");

    c.apply_option(" smtpd_banner =  $myhostname  hi ");
    CHECK(c.raw("smtpd_banner") == "$myhostname  hi");
    CHECK(config_error([&] { c.apply_option("foo"); }) ==
          "invalid \"-o foo\" option value: missing '=' after attribute name");
    CHECK(config_error([&] { c.apply_option("=x"); }) == "invalid \"-o =x\" option value: missing attribute name");

    Config d;
    d.update("mail_name", "Other");
    CHECK(d.source("mail_name") == Config::Source::main_cf);
    CHECK(d.get_str("smtpd_banner").find(" ESMTP Other") != std::string::npos);
}

TEST_CASE("Config overlay: the stress-dependent defaults", "[main_cf]") {
    Config c;
    const psm::ConfigOverlay stress = {{"stress", "yes"}};
    CHECK(c.get_time("postscreen_greet_wait") == 6);
    CHECK(c.get_time("postscreen_greet_wait", stress) == 2);
    CHECK(c.get_time("postscreen_command_time_limit") == 300);
    CHECK(c.get_time("postscreen_command_time_limit", stress) == 10);
    // An explicit value does not depend on stress.
    Config e = config_of("postscreen_greet_wait = 3s\n");
    CHECK(e.get_time("postscreen_greet_wait", stress) == 3);
    // -o stress=yes from master.cf acts the same; the overlay still wins.
    c.set_override("stress", "yes");
    CHECK(c.get_time("postscreen_greet_wait") == 2);
    CHECK(c.get_time("postscreen_greet_wait", {{"stress", ""}}) == 6);
}

TEST_CASE("Config legacy names behind the renamed postscreen parameters", "[main_cf]") {
    Config c = config_of("postscreen_blacklist_action = drop\npostscreen_dnsbl_ttl = 30m\n"
                         "postscreen_dnsbl_whitelist_threshold = -1\n");
    CHECK(c.get_str("postscreen_denylist_action") == "drop");
    CHECK(c.get_time("postscreen_dnsbl_max_ttl") == 1800); // "30mh": the first unit letter counts
    CHECK(c.get_int("postscreen_dnsbl_allowlist_threshold") == -1);
    CHECK(config_of("postscreen_dnsbl_ttl = 2\n").get_time("postscreen_dnsbl_max_ttl") == 7200);
    // The new name wins when both are set.
    CHECK(config_of("postscreen_blacklist_action = drop\npostscreen_denylist_action = enforce\n")
              .get_str("postscreen_denylist_action") == "enforce");
    CHECK(Config().get_time("postscreen_dnsbl_max_ttl") == 3600);
}

TEST_CASE("Config compatibility_level drives the 3.6 defaults", "[main_cf]") {
    CHECK_FALSE(Config().get_bool("respectful_logging"));
    CHECK_FALSE(Config().get_bool("smtputf8_enable"));
    CHECK(Config().get_str("mynetworks_style") == "subnet");
    Config c = config_of("compatibility_level = 3.6\n");
    CHECK(c.get_bool("respectful_logging"));
    CHECK(c.get_bool("smtputf8_enable"));
    CHECK(c.get_str("mynetworks_style") == "host");
    CHECK(config_of("compatibility_level = 3.10\n").get_bool("respectful_logging"));
}

TEST_CASE("Config typed getters word errors as stock", "[main_cf]") {
    CHECK(config_error([] { config_of("postscreen_greet_wait = 6x\n").get_time("postscreen_greet_wait"); }) ==
          "parameter postscreen_greet_wait: bad time value or unit: 6x");
    CHECK(config_error([] { config_of("postscreen_greet_wait = 0\n").get_time("postscreen_greet_wait"); }) ==
          "invalid postscreen_greet_wait: 0 (min 1)");
    CHECK(config_error([] {
              config_of("postscreen_watchdog_timeout = 9s\n").get_time("postscreen_watchdog_timeout");
          }) == "invalid postscreen_watchdog_timeout: 9 (min 10)");
    CHECK(config_error([] { config_of("postscreen_pre_queue_limit = 5\n").get_int("postscreen_pre_queue_limit"); }) ==
          "invalid postscreen_pre_queue_limit parameter value 5 < 10");
    CHECK(config_error([] {
              config_of("delay_logging_resolution_limit = 7\n").get_int("delay_logging_resolution_limit");
          }) == "invalid delay_logging_resolution_limit parameter value 7 > 6");
    CHECK(config_error([] { config_of("line_length_limit = 10x\n").get_int("line_length_limit"); }) ==
          "bad numerical configuration: line_length_limit = 10x");
    CHECK(config_error([] { config_of("soft_bounce = maybe\n").get_bool("soft_bounce"); }) ==
          "bad boolean configuration: soft_bounce = maybe");
    CHECK(config_error([] { config_of("myhostname =\n").get_str("myhostname"); }) ==
          "bad string length 0 < 1: myhostname = ");
    // Values that pass.
    CHECK(config_of("soft_bounce = YES\n").get_bool("soft_bounce"));
    CHECK(config_of("postscreen_greet_ttl = 2\n").get_time("postscreen_greet_ttl") == 2 * 86400);
    CHECK(config_of("postscreen_cache_cleanup_interval = 0\n").get_time("postscreen_cache_cleanup_interval") == 0);
    CHECK(config_of("message_size_limit = 4294967296\n").get_int("message_size_limit") == 4294967296L);
    CHECK(Config().get_int("postscreen_pre_queue_limit") == 100); // $default_process_limit
    CHECK(config_of("default_process_limit = 20\n").get_int("postscreen_post_queue_limit") == 20);
    CHECK_THROWS_AS(Config().get_int("nosuch_parameter"), std::logic_error);
    CHECK_THROWS_AS(Config().get_int("myhostname"), std::logic_error);
}

TEST_CASE("Config raw parameters are not expanded", "[main_cf]") {
    Config c = config_of("postscreen_reject_footer = \\c $myhostname\n");
    CHECK(c.get_str("postscreen_reject_footer") == "\\c $myhostname");
    CHECK(Config().get_str("postscreen_expansion_filter") == "$smtpd_expansion_filter");
    CHECK(Config().get_str("postscreen_cache_map") == "btree:/var/lib/postfix/postscreen_cache");
}

TEST_CASE("Config macro errors are MacroErrors with stock's text", "[main_cf]") {
    Config c = config_of("mail_owner = $a\na = $b\nb = $a\nqueue_directory = $(x\n");
    try {
        c.get_str("mail_owner");
        FAIL("no error");
    } catch (const psm::MacroError& e) {
        CHECK(std::string(e.what()) == "dictionary mail_dict: macro processing error");
        REQUIRE(e.details().size() == 1);
        CHECK(e.details()[0] == "unreasonable macro call nesting: \"b\"");
    }
    CHECK(config_error([&] { c.get_str("queue_directory"); }) == "dictionary mail_dict: macro processing error");
}

TEST_CASE("Config computed defaults follow the explicit settings", "[main_cf]") {
    CHECK(config_of("myhostname = mail.example.org\n").get_str("mydomain") == "example.org");
    CHECK(config_of("myhostname = example.org\n").get_str("mydomain") == "org");
    CHECK(config_of("myhostname = a.b.c.d\n").get_str("mydomain") == "b.c.d");
    // myhostname = $mydomain: stock prints localdomain for both.
    Config loop = config_of("myhostname = $mydomain\n");
    CHECK(loop.get_str("myhostname") == "localdomain");
    CHECK(loop.get_str("mydomain") == "localdomain");
    const std::string host = Config().get_str("myhostname");
    CHECK(host.find('.') != std::string::npos);
    CHECK(config_of("myhostname = h.example.com\n").get_str("smtpd_banner") == "h.example.com ESMTP Postfix");
}

TEST_CASE("Config mynetworks from inet_interfaces, inet_protocols and mynetworks_style", "[main_cf]") {
    CHECK(config_of("mynetworks_style = host\ninet_interfaces = 127.0.0.1\n").get_str("mynetworks") == "127.0.0.1/32");
    CHECK(config_of("inet_interfaces = 127.0.0.1\n").get_str("mynetworks") == "127.0.0.0/8");
    CHECK(config_of("mynetworks_style = class\ninet_interfaces = loopback-only\ninet_protocols = ipv4\n")
              .get_str("mynetworks") == "127.0.0.0/8");
    CHECK(config_of("mynetworks_style = host\ninet_interfaces = loopback-only\ninet_protocols = ipv6\n")
              .get_str("mynetworks") == "[::1]/128");
    CHECK(config_of("inet_interfaces = [::1]\n").get_str("mynetworks") == "[::1]/128");
    CHECK(config_error([] { config_of("mynetworks_style = host subnet\n").get_str("mynetworks"); }) ==
          "bad mynetworks_style value: host subnet; specify exactly one value");
    CHECK(config_error([] { config_of("mynetworks_style = bogus\n").get_str("mynetworks"); }) ==
          "unknown mynetworks mask style value \"bogus\" in \"bogus\"");
    // An explicit mynetworks is used as written.
    CHECK(config_of("mynetworks = 10.0.0.0/8\n").get_str("mynetworks") == "10.0.0.0/8");
}
