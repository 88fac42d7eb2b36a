// The child's command line (stock's flag order, stress argument) and environment (import_environment).
#include <catch2/catch.hpp>

#include "child_command.hpp"

#include "psm/global/master_cf.hpp"

#include <algorithm>

using namespace psm;
using namespace psm::master;

namespace {

using Args = std::vector<std::string>;

MasterService service(std::string_view line) {
    Config config = Config::from_main_cf(parse_main_cf("compatibility_level = 3.6\n", "/x/main.cf"), "/x");
    MasterCf cf = parse_master_cf(line, "/x/master.cf", config);
    REQUIRE(cf.services.size() == 1);
    return cf.services.front();
}

} // namespace

TEST_CASE("argv as stock master builds it (observed with stock 3.7.11)", "[master][argv]") {
    ArgvFlags flags;
    // stock: postscreen -l -n 127.0.0.1:41025 -t inet -u -o ... -o ...
    ChildArgv a = build_child_argv(
        service("127.0.0.1:41025 inet n - n - 1 postscreen -o { postscreen_greet_banner = $myhostname ESMTP test } "
                "-o postscreen_dnsbl_action=ignore"),
        flags);
    CHECK(a.argv == Args{"postscreen", "-l", "-n", "127.0.0.1:41025", "-t", "inet", "-u", "-o",
                         "postscreen_greet_banner = $myhostname ESMTP test", "-o", "postscreen_dnsbl_action=ignore"});
    CHECK(a.stress_index == -1);
    CHECK(build_child_argv(service("dnsblog unix - - n - 0 dnsblog"), flags).argv ==
          Args{"dnsblog", "-z", "-t", "unix", "-u"});
    CHECK(build_child_argv(service("postlog unix-dgram n - n - 1 postlogd"), flags).argv ==
          Args{"postlogd", "-l", "-n", "postlog", "-t", "unix-dgram", "-u"});
    // A pass service is never local: "-o stress=" with maxproc > 1.
    flags.local_only = false;
    a = build_child_argv(service("smtpd pass - - n - - smtpd"), flags);
    CHECK(a.argv == Args{"smtpd", "-t", "pass", "-u", "-o", "stress="});
    CHECK(a.stress_index == 5);
}

TEST_CASE("argv flags: -d, -v, -c, -s, private daemon path", "[master][argv]") {
    ArgvFlags flags;
    flags.master_detached = false;
    flags.verbose = true;
    flags.local_only = false;
    flags.listen_fd_count = 2;
    ChildArgv a = build_child_argv(service("smtp inet n n y - 5 smtpd -o a=b x"), flags);
    CHECK(a.argv ==
          Args{"smtpd", "-n", "smtp", "-t", "inet", "-d", "-v", "-c", "-o", "stress=", "-s", "2", "-o", "a=b", "x"});
    CHECK(a.stress_index == 9);
    // Observed: "./dumper" keeps argv[0] as written and basename decides -n.
    flags = ArgvFlags{};
    CHECK(build_child_argv(service("dumper unix - - n - 1 ./dumper"), flags).argv ==
          Args{"./dumper", "-l", "-t", "unix", "-u"});
    CHECK(build_child_argv(service("dumpfifo fifo - n n - 0 dumper"), flags).argv ==
          Args{"dumper", "-z", "-n", "dumpfifo", "-t", "fifo"});
}

TEST_CASE("environment: import_environment filter, forced values, MAIL_CONFIG, POSTLOG_*", "[master][env]") {
    EnvironmentSettings s;
    s.import_environment = "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE "
                           "POSTLOG_HOSTNAME";
    s.config_dir = "/etc/psmaster";
    s.syslog_name = "postfix";
    s.queue_directory = "/var/spool/postfix";
    s.postlog_service_name = "postlog";
    s.myhostname = "mx.example";
    std::vector<std::string> env = build_child_environment(
        {"PATH=/bin", "TZ=UTC", "MAIL_LOGTAG=fromenv", "LANG=de_DE.UTF-8", "HOME=/root", "MAIL_CONFIG=/elsewhere"}, s);
    std::sort(env.begin(), env.end());
    CHECK(env == Args{"LANG=C", "MAIL_CONFIG=/etc/psmaster", "MAIL_LOGTAG=postfix", "TZ=UTC"});

    s.maillog_file = "/var/log/psmaster.log";
    s.syslog_name = "foo/bar";
    s.import_environment = "LANG=C FORCED=yes ASAN_OPTIONS";
    env = build_child_environment({"ASAN_OPTIONS=detect_leaks=0", "MAIL_LOGTAG=x"}, s);
    std::sort(env.begin(), env.end());
    // MAIL_LOGTAG is subject to the filter; POSTLOG_* and MAIL_CONFIG are not.
    CHECK(env == Args{"ASAN_OPTIONS=detect_leaks=0", "FORCED=yes", "LANG=C", "MAIL_CONFIG=/etc/psmaster",
                      "POSTLOG_HOSTNAME=mx.example", "POSTLOG_SERVICE=/var/spool/postfix/public/postlog"});
}

TEST_CASE("GENERATION is octal", "[master][env]") {
    CHECK(generation_variable(1) == "GENERATION=1");
    CHECK(generation_variable(8) == "GENERATION=10");
    CHECK(generation_variable(4095) == "GENERATION=7777");
}
