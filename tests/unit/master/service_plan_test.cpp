// Master's plan: main.cf globals, inet addresses and ports, local-only services, stress argument, errors, reload diff.
#include <catch2/catch.hpp>

#include "service_plan.hpp"

#include "psm/util/error.hpp"

using namespace psm;
using namespace psm::master;

namespace {

using Args = std::vector<std::string>;

MasterPlan plan_of(std::string main_cf, std::string_view master_cf) {
    main_cf =
        "compatibility_level = 3.6\nqueue_directory = /q\ndata_directory = /d\ndaemon_directory = /bin/psm\n" + main_cf;
    Config config = Config::from_main_cf(parse_main_cf(main_cf, "/etc/t/main.cf"), "/etc/t");
    MasterCf cf = parse_master_cf(master_cf, "/etc/t/master.cf", config);
    PlanOptions options;
    options.lookup_owner = false;
    options.environment = {"PATH=/bin", "TZ=UTC"};
    return build_master_plan(config, cf, options);
}

std::string error_of(std::string main_cf, std::string_view master_cf) {
    try {
        plan_of(std::move(main_cf), master_cf);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

std::vector<std::string> texts(const std::vector<InetAddr>& addrs) {
    std::vector<std::string> out;
    for (const InetAddr& a : addrs)
        out.push_back(a.to_string());
    return out;
}

} // namespace

TEST_CASE("plan: globals, paths and environment", "[master][plan]") {
    MasterPlan p = plan_of("", "echo unix - - n - 0 psm-echod\n");
    CHECK(p.settings.config_dir == "/etc/t");
    CHECK(p.settings.queue_directory == "/q");
    CHECK(p.settings.pid_file == "pid/master.pid");
    CHECK(p.settings.lock_file == "/d/master.lock");
    CHECK(p.settings.process_limit == 100);
    CHECK(p.settings.environment == Args{"MAIL_LOGTAG=postfix", "TZ=UTC", "LANG=C", "MAIL_CONFIG=/etc/t"});
    REQUIRE(p.services.size() == 1);
    const ServicePlan& s = p.services.front();
    CHECK(s.name == "private/echo");
    CHECK(s.ext_name == "echo");
    CHECK(s.path == "/bin/psm/psm-echod");
    CHECK(s.argv.argv == Args{"psm-echod", "-z", "-n", "echo", "-t", "unix", "-u"});
    CHECK(s.throttle_delay == 60);
    CHECK(s.listen_fd_count() == 1);
    // psmaster's own state directory for the pid file (process_id_directory).
    p = plan_of("process_id_directory = /var/lib/psmaster\nservice_throttle_time = 5s\n", "public unix n - n - 1 x\n");
    CHECK(p.settings.pid_file == "/var/lib/psmaster/master.pid");
    CHECK(p.services.front().name == "public/public");
    CHECK(p.services.front().throttle_delay == 5);
}

TEST_CASE("plan: inet addresses, ports and local-only services", "[master][plan]") {
    MasterPlan p = plan_of("inet_interfaces = loopback-only\ninet_protocols = ipv4\n",
                           "smtp inet n - n - - smtpd\n"
                           "127.0.0.1:10025 inet n - n - 1 postscreen\n"
                           "192.0.2.1:smtps inet n - n - 10 smtpd\n");
    REQUIRE(p.services.size() == 3);
    CHECK(texts(p.services[0].addresses) == Args{"127.0.0.1"});
    CHECK(p.services[0].port == 25);
    CHECK(p.services[0].argv.stress_index == -1); // loopback only: no stress
    CHECK(p.services[1].port == 10025);
    CHECK(p.services[2].port == 465);
    CHECK(p.services[2].argv.argv == Args{"smtpd", "-n", "192.0.2.1:smtps", "-t", "inet", "-u", "-o", "stress="});
}

TEST_CASE("plan: both protocols, wildcard and loopback lists", "[master][plan]") {
    MasterPlan p = plan_of("inet_interfaces = loopback-only\ninet_protocols = all\n", "2525 inet n - n - 2 x\n");
    CHECK(texts(p.services[0].addresses) == Args{"127.0.0.1", "::1"});
    CHECK(p.services[0].argv.argv == Args{"x", "-n", "2525", "-t", "inet", "-u", "-s", "2"});
    p = plan_of("inet_interfaces = all\ninet_protocols = ipv4\n", "2525 inet n - n - 2 x\n");
    CHECK(texts(p.services[0].addresses) == Args{"0.0.0.0"});
    CHECK(p.services[0].argv.argv ==
          Args{"x", "-n", "2525", "-t", "inet", "-u", "-o", "stress="}); // wildcard: not loopback
    p = plan_of("inet_interfaces = 127.0.0.2, [::1], 127.0.0.2\ninet_protocols = all\n", "2525 inet n - n - 0 x\n");
    CHECK(texts(p.services[0].addresses) == Args{"127.0.0.2", "::1"});
}

TEST_CASE("plan: no network protocols disables inet services with stock's warnings", "[master][plan]") {
    MasterPlan p = plan_of("inet_protocols =\n", "smtp inet n - n - - smtpd\nx unix - - n - - x\n");
    REQUIRE(p.services.size() == 1);
    CHECK(p.services[0].name == "private/x");
    CHECK(p.warnings == Args{"all network protocols are disabled (inet_protocols = )",
                             "disabling all type \"inet\" services in master.cf"});
}

TEST_CASE("plan: errors worded as stock", "[master][plan]") {
    CHECK(error_of("inet_protocols = ipv5\n", "x unix - - n - - x\n") ==
          "unknown inet_protocols value \"ipv5\" in \"ipv5\"");
    CHECK(error_of("inet_protocols = ipv4\ninet_interfaces = ::1\n", "25 inet n - n - - x\n") ==
          "config variable inet_interfaces: host not found: ::1");
    CHECK(error_of("inet_protocols = ipv4\n", "[::1]:25 inet n - n - - x\n") ==
          "/etc/t/master.cf: line 1: bad hostname or network address: [::1]:25");
    CHECK(error_of("inet_protocols = ipv4\n", "\nno-such-port-name inet n - n - - x\n") ==
          "/etc/t/master.cf: line 2: no-such-port-name: Servname not supported for ai_socktype");
    CHECK(error_of("", "x unix - - n - - x\ny bogus - - n - - y\n") ==
          "/etc/t/master.cf: line 2: bad transport type: bogus");
}

TEST_CASE("ports: numbers, known_tcp_ports, unknown names", "[master][plan]") {
    const std::string known = "lmtp=24, smtp=25, smtps=submissions=465, submission=587";
    CHECK(resolve_port("25", known) == 25);
    CHECK(resolve_port("smtp", known) == 25);
    CHECK(resolve_port("submissions", known) == 465);
    CHECK(resolve_port("smtps", known) == 465);
    CHECK(resolve_port("submission", known) == 587);
    CHECK(resolve_port("65536", known) == std::nullopt);
    CHECK(resolve_port("no-such-port-name", known) == std::nullopt);
}

TEST_CASE("reload diff: identity is socket name and type", "[master][plan]") {
    MasterPlan a =
        plan_of("inet_protocols = ipv4\ninet_interfaces = loopback-only\n", "echo unix - - n - 0 psm-echod\n"
                                                                            "gone unix - - n - 0 psm-echod\n"
                                                                            "127.0.0.1:2525 inet n - n - 1 x\n");
    MasterPlan b = plan_of("inet_protocols = ipv4\ninet_interfaces = loopback-only\n",
                           "127.0.0.1:2525 inet n - n - 3 x -o changed=yes\n"
                           "echo pass - - n - 0 psm-echod\n" // same name, other type: a new service
                           "echo unix n - n - 0 psm-echod\n" // public/echo: a new socket
                           "new unix - - n - 0 psm-echod\n");
    PlanDiff d = diff_plans(a.services, b.services);
    CHECK(d.kept == std::vector<std::size_t>{0});
    CHECK(d.added == std::vector<std::size_t>{1, 2, 3});
    CHECK(d.removed == std::vector<std::size_t>{0, 1});
    CHECK(b.services[0].same_listeners(a.services[2]));
    MasterPlan c = plan_of("inet_protocols = all\ninet_interfaces = loopback-only\n", "2525 inet n - n - 1 x\n");
    MasterPlan e = plan_of("inet_protocols = ipv4\ninet_interfaces = loopback-only\n", "2525 inet n - n - 1 x\n");
    CHECK(c.services[0].same_identity(e.services[0]));
    CHECK_FALSE(c.services[0].same_listeners(e.services[0])); // re-opened on reload
}

TEST_CASE("the bundled configuration (proto/config) makes a plan", "[master][plan]") {
    // PSM_TEST_DATA_DIR is <source>/tests/data; __FILE__ may be relative
    // (ccache's base-directory rewriting), so it cannot locate the tree.
    const std::string data = PSM_TEST_DATA_DIR;
    const std::string dir = data.substr(0, data.rfind("/tests/data")) + "/proto/config";
    PlanOptions options;
    options.lookup_owner = false;
    MasterPlan p = load_master_plan(dir, options);
    CHECK(p.settings.queue_directory == "/var/spool/postfix");
    CHECK(p.settings.pid_file == "/var/lib/psmaster/master.pid");
    CHECK(p.settings.lock_file == "/var/lib/psmaster/master.lock");
    REQUIRE(p.services.size() == 3);
    CHECK(p.services[0].name == "smtp");
    CHECK(p.services[0].port == 25);
    // inet_interfaces = all: the wildcard address of each protocol the host has.
    Args postscreen{"postscreen", "-l", "-n", "smtp", "-t", "inet", "-u"};
    if (p.services[0].addresses.size() > 1) postscreen.insert(postscreen.end(), {"-s", "2"});
    CHECK(p.services[0].argv.argv == postscreen);
    CHECK(p.services[0].path == "/usr/local/lib/psmaster/postscreen");
    CHECK(p.services[1].name == "private/psm-dnsblog");
    CHECK(p.services[1].argv.argv == Args{"dnsblog", "-z", "-n", "psm-dnsblog", "-t", "unix", "-u"});
    CHECK(p.services[2].name == "private/psm-tlsproxy");
    CHECK(p.services[2].argv.argv == Args{"tlsproxy", "-z", "-n", "psm-tlsproxy", "-t", "unix", "-u"});
    CHECK(p.warnings.empty());
}
