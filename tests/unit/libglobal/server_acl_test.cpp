// Tests for postscreen_access_list evaluation: keywords, tables, nested results, stock warnings.
#include "psm/global/server_acl.hpp"

#include "support/log_capture.hpp"

#include <catch2/catch.hpp>

using psm::AclResult;
using psm::ServerAcl;

TEST_CASE("access list keywords decide left to right, case-insensitively", "[server_acl]") {
    ServerAcl acl("permit_mynetworks, Reject", "127.0.0.0/8 !192.0.2.1 192.0.2.0/24", "postscreen_access_list");
    CHECK(acl.evaluate("127.0.0.7") == AclResult::permit);
    CHECK(acl.evaluate("192.0.2.2") == AclResult::permit);
    CHECK(acl.evaluate("192.0.2.1") == AclResult::reject);
    CHECK(acl.evaluate("8.8.8.8") == AclResult::reject);
    CHECK(ServerAcl("DUNNO permit", "", "x").evaluate("1.2.3.4") == AclResult::dunno);
    CHECK(ServerAcl("PERMIT", "", "x").evaluate("1.2.3.4") == AclResult::permit);
    CHECK(ServerAcl("", "", "x").evaluate("1.2.3.4") == AclResult::dunno);
    CHECK(ServerAcl("permit_mynetworks", "", "x").evaluate("1.2.3.4") == AclResult::dunno);
}

TEST_CASE("table results are access lists without tables", "[server_acl]") {
    std::string table = "cidr:{ {192.0.2.1 permit}, {192.0.2.2 Dunno}, {192.0.2.3 reject}, "
                        "{192.0.2.4 permit_mynetworks, reject}, {192.0.2.5 permit_mynetworks, hash:/x, permit}, "
                        "{192.0.2.6 OK}, {0.0.0.0/0 dunno} }";
    ServerAcl acl("permit_mynetworks, " + table + ", reject", "192.0.2.4 192.0.2.5", "postscreen_access_list");
    psm::test::LogCapture log;
    CHECK(acl.evaluate("192.0.2.1") == AclResult::permit);
    CHECK(acl.evaluate("192.0.2.2") == AclResult::reject); // dunno returns to the outer list
    CHECK(acl.evaluate("192.0.2.3") == AclResult::reject);
    CHECK(acl.evaluate("8.8.8.8") == AclResult::reject);
    CHECK(log.lines().empty());
    CHECK(acl.evaluate("192.0.2.6") == AclResult::error);
    ServerAcl no_mynet(table + ", permit", "", "postscreen_access_list");
    CHECK(no_mynet.evaluate("192.0.2.4") == AclResult::reject);
    CHECK(no_mynet.evaluate("192.0.2.5") == AclResult::permit); // "dunno" after the warning
    CHECK(log.lines() ==
          std::vector<std::string>{
              "warning: " + table + ": unknown command: OK -- ignoring the remainder of this access list",
              "warning: table " + table +
                  ": lookup result \"hash:/x\" is not allowed -- ignoring remainder of access list",
          });
}

TEST_CASE("access list errors use stock's wording", "[server_acl]") {
    psm::test::LogCapture log;
    CHECK(ServerAcl("permit_mynetworks, OK, permit", "", "postscreen_access_list").evaluate("1.2.3.4") ==
          AclResult::error);
    CHECK(ServerAcl("permit_mynetworks, permit", "bad/24", "postscreen_access_list").evaluate("1.2.3.4") ==
          AclResult::error);
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    ServerAcl broken("cidr:/nonexistent/psm.cidr, permit", "", "postscreen_access_list", daemon);
    CHECK(broken.evaluate("1.2.3.4") == AclResult::error);
    CHECK(log.lines() ==
          std::vector<std::string>{
              "warning: postscreen_access_list: unknown command: OK -- ignoring the remainder of this access list",
              "warning: postscreen_access_list: bad network value in \"bad/24\"",
              "warning: postscreen_access_list: permit_mynetworks: mynetworks lookup error -- ignoring the "
              "remainder of this access list",
              "error: open /nonexistent/psm.cidr: No such file or directory",
              "warning: cidr:/nonexistent/psm.cidr is unavailable. open /nonexistent/psm.cidr: No such file or "
              "directory",
              "warning: postscreen_access_list: cidr:/nonexistent/psm.cidr: table lookup error -- ignoring the "
              "remainder of this access list",
          });
    CHECK_THROWS(ServerAcl("cidr:/nonexistent/psm.cidr", "", "postscreen_access_list"));
}
