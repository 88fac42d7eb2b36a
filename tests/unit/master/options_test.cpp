// master's command line: stock master 3.7's option letters, defaults and rejections.
#include <catch2/catch.hpp>

#include "options.hpp"

using psm::master::MasterOptions;
using psm::master::parse_master_options;
using psm::master::UsageError;

namespace {

using Args = std::vector<std::string>;

UsageError error_of(const Args& args, bool pid1 = false) {
    try {
        parse_master_options(args, pid1);
    } catch (const UsageError& e) {
        return e;
    }
    return UsageError{"(no error)", {}};
}

} // namespace

TEST_CASE("master defaults", "[master][options]") {
    MasterOptions o = parse_master_options({"/usr/lib/psmaster/master"});
    CHECK(o.program == "master");
    CHECK(o.config_dir.empty());
    CHECK(o.detach);
    CHECK_FALSE(o.test_lock);
    CHECK_FALSE(o.wait);
    CHECK(o.exit_time == -1);
    CHECK(o.verbose == 0);
    CHECK(std::string(psm::master::kDefaultConfigDir) == "/etc/psmaster");
}

TEST_CASE("master options, clustered and separate", "[master][options]") {
    MasterOptions o = parse_master_options({"master", "-dvv", "-c", "/etc/x", "-e5"});
    CHECK_FALSE(o.detach);
    CHECK(o.verbose == 2);
    CHECK(o.config_dir == "/etc/x");
    CHECK(o.exit_time == 5);
    o = parse_master_options({"master", "-c/etc/y", "-t"});
    CHECK(o.config_dir == "/etc/y");
    CHECK(o.test_lock);
    o = parse_master_options({"master", "-ws", "-D"});
    CHECK(o.wait);
    CHECK(o.keep_stdout);
    CHECK(o.debug);
}

TEST_CASE("master rejections are worded as stock", "[master][options]") {
    const std::string usage = "usage: master [-c config_dir] [-D (debug)] [-d (don't detach from terminal)] "
                              "[-e exit_time] [-t (test)] [-v] [-w (wait for initialization)]";
    UsageError e = error_of({"master", "-x"});
    CHECK(e.text == usage);
    CHECK(e.getopt_message == "master: invalid option -- 'x'");
    e = error_of({"/path/master", "-c"});
    CHECK(e.getopt_message == "/path/master: option requires an argument -- 'c'");
    e = error_of({"master", "extra"});
    CHECK(e.text == usage);
    CHECK(e.getopt_message.empty());
    CHECK(error_of({"master", "-t", "-w"}).text == "the -t and -w options cannot be used together");
    CHECK(error_of({"master", "-i"}).text == "-i is allowed only for PID 1 process");
    CHECK(error_of({"master", "-i", "-d"}, true).text == "the -i option cannot be used with -D, -d, or -w");
    CHECK(parse_master_options({"master", "-i"}, true).init_mode);
}
