// master.cf: fields, defaults, arguments, duplicates, disabled services and errors worded as stock master 3.7.11.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "psm/global/master_cf.hpp"

using psm::Config;
using psm::MasterCf;
using psm::MasterService;
using psm::ServiceType;

namespace {

constexpr const char* kPath = "/etc/x/master.cf";

Config config_of(std::string_view main_cf = "compatibility_level = 3.6\n") {
    return Config::from_main_cf(psm::parse_main_cf(main_cf, "/etc/x/main.cf"), "/etc/x");
}

MasterCf parse(std::string_view text, const Config& config = config_of()) {
    return psm::parse_master_cf(text, kPath, config);
}

std::string error_of(std::string_view text, const Config& config = config_of()) {
    try {
        parse(text, config);
    } catch (const psm::ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

using Args = std::vector<std::string>;

} // namespace

TEST_CASE("master.cf entry with -o arguments", "[master_cf]") {
    MasterCf m = parse("# comment\n"
                       "127.0.0.1:10025 inet n - n - 1 postscreen\n"
                       "  -o { postscreen_greet_banner = $myhostname ESMTP test }\n"
                       "\n"
                       "  # comment inside the entry\n"
                       "  -o postscreen_dnsbl_action=ignore -v\n");
    REQUIRE(m.services.size() == 1);
    const MasterService& s = m.services[0];
    CHECK(s.name == "127.0.0.1:10025");
    CHECK(s.type == ServiceType::inet);
    CHECK(s.host == "127.0.0.1");
    CHECK(s.port == "10025");
    CHECK(s.socket_path.empty());
    CHECK_FALSE(s.private_service);
    CHECK(s.unprivileged);
    CHECK_FALSE(s.chroot);
    CHECK(s.wakeup == 0);
    CHECK(s.max_proc == 1);
    CHECK(s.command == "postscreen");
    CHECK(s.args ==
          Args{"-o", "postscreen_greet_banner = $myhostname ESMTP test", "-o", "postscreen_dnsbl_action=ignore", "-v"});
    REQUIRE(s.overrides.size() == 2);
    CHECK(s.overrides[0].name == "postscreen_greet_banner");
    CHECK(s.overrides[0].value == "$myhostname ESMTP test");
    CHECK(s.overrides[1].name == "postscreen_dnsbl_action");
    CHECK(s.overrides[1].value == "ignore");
    CHECK(s.other_args == Args{"-v"});
    CHECK(s.file == kPath);
    CHECK(s.line == 2);
    CHECK(m.warnings.empty());
    CHECK(m.notes.empty());
}

TEST_CASE("master.cf defaults and service types", "[master_cf]") {
    MasterCf m = parse("dnsblog   unix  -       -       n       -       0       dnsblog\n"
                       "tlsproxy  unix  -       -       n       -       -       tlsproxy\n"
                       "pickup    unix  n       -       y       60      1       pickup\n"
                       "cond      unix  n       n       n       5?      2x      true\n"
                       "smtp      inet  n       -       y       -       -       smtpd\n"
                       "[::1]:25  inet  n       -       n       -       -       smtpd\n"
                       "postlog   unix-dgram n  -       n       -       1       postlogd\n"
                       "smtpd     pass  -       -       n       -       -       smtpd\n"
                       "qmgr      fifo  n       -       n       300     1       qmgr\n");
    REQUIRE(m.services.size() == 9);
    const auto& s = m.services;
    CHECK(s[0].private_service);
    CHECK(s[0].unprivileged);
    CHECK(s[0].socket_path == "private/dnsblog");
    CHECK(s[0].max_proc == 0);
    CHECK(s[1].max_proc == 100); // $default_process_limit
    CHECK(s[2].socket_path == "public/pickup");
    CHECK(s[2].chroot);
    CHECK(s[2].wakeup == 60);
    CHECK_FALSE(s[2].wakeup_conditional);
    CHECK_FALSE(s[3].unprivileged);
    CHECK(s[3].wakeup == 5);
    CHECK(s[3].wakeup_conditional);
    CHECK(s[3].max_proc == 2); // digits then anything: atoi()
    CHECK(s[4].host.empty());
    CHECK(s[4].port == "smtp");
    CHECK(s[5].host == "::1");
    CHECK(s[5].port == "25");
    CHECK(s[6].type == ServiceType::unix_dgram);
    CHECK(s[7].type == ServiceType::pass);
    CHECK(s[7].socket_path == "private/smtpd");
    CHECK(s[8].type == ServiceType::fifo);
    CHECK(psm::service_type_name(s[6].type) == "unix-dgram");
    CHECK(psm::service_type_name(s[8].type) == "fifo");
    CHECK(parse("a unix - - n - - a\n", config_of("default_process_limit = 7\n")).services[0].max_proc == 7);
}

TEST_CASE("master.cf chroot default depends on compatibility_level", "[master_cf]") {
    MasterCf m = parse("x unix - - - - - true\ny unix - - n - - true\n", config_of("compatibility_level = 0\n"));
    CHECK(m.services[0].chroot);
    CHECK_FALSE(m.services[1].chroot);
    REQUIRE(m.notes.size() == 1);
    CHECK(m.notes[0] == "/etc/x/master.cf: line 1: using backwards-compatible default setting chroot=y");
    CHECK_FALSE(parse("x unix - - - - - true\n").services[0].chroot);
}

TEST_CASE("master.cf -o splitting stops at the first non-option", "[master_cf]") {
    MasterCf m = parse("a unix - n n - - pipe -v -o x=1 -o broken flags=R argv=/bin/cat -o y=2\n"
                       "b unix - n n - - true -o\n");
    const MasterService& a = m.services[0];
    REQUIRE(a.overrides.size() == 1);
    CHECK(a.overrides[0].name == "x");
    CHECK(a.other_args == Args{"-v", "-o", "broken", "flags=R", "argv=/bin/cat", "-o", "y=2"});
    CHECK(m.services[1].overrides.empty());
    CHECK(m.services[1].other_args == Args{"-o"});
}

TEST_CASE("master.cf duplicates: the last entry wins with stock's warning", "[master_cf]") {
    MasterCf m = parse("x unix - - n - - true\n"
                       "x fifo - - n - - true\n"
                       "x unix - - n - - true -v\n"
                       "x unix n - n - - true\n");
    REQUIRE(m.services.size() == 3); // unix private/x, fifo private/x, unix public/x
    CHECK(m.services[0].args == Args{"-v"});
    REQUIRE(m.warnings.size() == 1);
    CHECK(m.warnings[0] == "duplicate master.cf entry for service \"x\" (private/x) -- using the last entry");
}

TEST_CASE("master.cf master_service_disable skips entries before checking them", "[master_cf]") {
    Config c = config_of("compatibility_level = 3.6\nmaster_service_disable = X/unix, .bogus\n");
    MasterCf m = parse("x unix maybe - n - - true\nz unix - - n - - true\n", c);
    REQUIRE(m.services.size() == 1);
    CHECK(m.services[0].name == "z");
    CHECK(error_of("y bogus - - n - - true\n", c) == "/etc/x/master.cf: line 1: bad transport type: bogus");

    Config inet = config_of("master_service_disable = !smtp/inet, inet\n");
    MasterCf n = parse("smtp inet n - n - - smtpd\n2525 inet n - n - - smtpd\nq unix - - n - - qmgr\n", inet);
    REQUIRE(n.services.size() == 2);
    CHECK(n.services[0].name == "smtp");
    CHECK(n.services[1].name == "q");
}

TEST_CASE("master.cf errors are worded as stock master", "[master_cf]") {
    struct Case {
        const char* text;
        const char* error;
    };
    const Case cases[] = {
        {"x\n", "line 1: missing \"transport type\" field"},
        {"x unix\n", "line 1: missing \"private\" field"},
        {"x - - - n - - true\n", "line 1: field \"transport type\" has no default value"},
        {"x bogus - - n - - cmd\n", "line 1: bad transport type: bogus"},
        {"x unix - - n - -\n", "line 1: missing \"command\" field"},
        {"x unix - - n - - -\n", "line 1: field \"command\" has no default value"},
        {"x unix maybe - n - - cmd\n", "line 1: field \"private\": bad value: \"maybe\""},
        {"x unix - maybe n - - cmd\n", "line 1: field \"unprivileged\": bad value: \"maybe\""},
        {"x unix - - Y - - cmd\n", "line 1: field \"chroot\": bad value: \"Y\""},
        {"x unix - - n -5 - cmd\n", "line 1: field \"wakeup_time\": bad value: \"-5\""},
        {"x unix - - n ? - true\n", "line 1: field \"wakeup_time\": bad value: \"?\""},
        {"x unix - - n - x cmd\n", "line 1: field \"max_proc\": bad value: \"x\""},
        {"127.0.0.1:10999 inet - - n - - true\n", "line 1: inet service cannot be private"},
        {"[::1 inet n - n - - cmd\n", "line 1: missing \"]\" in \"[::1\""},
        {"[::1]x inet n - n - - true\n", "line 1: garbage after \"]\" in \"[::1]x\""},
        {"foo:bar:25 inet n - n - - cmd\n", "line 1: valid hostname or network address required in \"foo:bar:25\""},
        {"127.0.0.1:25x inet n - n - - true\n", "line 1: garbage after numerical service in \"127.0.0.1:25x\""},
        {"127.0.0.1: inet n - n - - true\n", "line 1: missing service information in \"127.0.0.1:\""},
        {"x unix - - n - - true {a\n", "line 1: missing '}' in \"{a\""},
        {"x unix - - n - - true -o {a b\n", "line 1: missing '}' in \"{a b\""},
        {"x unix - - n - - true {a}b\n", "line 1: syntax error after '}' in \"{a}b\""},
        {"x unix - - n - - true {a}}\n", "line 1: syntax error after '}' in \"{a}}\""},
        {"# c\nx unix - - n - - true\n  {a\n", "line 2: missing '}' in \"{a\""},
        {"# c\nx unix - - n - -\n  \n", "line 2: missing \"command\" field"},
    };
    for (const Case& c : cases) {
        INFO(c.text);
        CHECK(error_of(c.text) == std::string(kPath) + ": " + c.error);
    }
}

TEST_CASE("master.cf continuation without an entry is skipped with a warning", "[master_cf]") {
    MasterCf m = parse(" x unix - - n - - true\ny unix - - n - - true\n");
    REQUIRE(m.services.size() == 1);
    REQUIRE(m.warnings.size() == 1);
    CHECK(m.warnings[0] == "/etc/x/master.cf: logical line must not start with whitespace: \" x unix - - n - - true\"");
}

TEST_CASE("read_master_cf reports a missing file as stock", "[master_cf]") {
    try {
        psm::read_master_cf("/nonexistent/psm/master.cf", config_of());
        FAIL("no error");
    } catch (const psm::ConfigError& e) {
        CHECK(std::string(e.what()) == "open /nonexistent/psm/master.cf: No such file or directory");
    }
}
