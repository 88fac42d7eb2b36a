// TableWatch: btree:/hash: files whose change makes postscreen drain.
#include "table_watch.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

using psm::postscreen::TableWatch;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/psm-tablewatch-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { (void)std::system(("rm -rf " + path).c_str()); }
    void write(const std::string& name, const std::string& text) const { std::ofstream(path + "/" + name) << text; }
    void age(const std::string& name) const { (void)std::system(("touch -d '-1 min' " + path + "/" + name).c_str()); }
};

} // namespace

TEST_CASE("table watch finds btree/hash tables in parameter values") {
    TempDir d;
    TableWatch w;
    w.add_value("permit_mynetworks, cidr:/x/y.cidr, btree:" + d.path + "/a, { hash:" + d.path +
                "/b }, !static:all, texthash:/z");
    CHECK(w.size() == 2);
    w.add_table("btree:" + d.path + "/a"); // no duplicates
    CHECK(w.size() == 2);
}

TEST_CASE("table watch notices a new mtime, a replaced file and a removed file") {
    TempDir d;
    d.write("a.db", "x");
    d.age("a.db");
    d.write("b.db", "y");
    d.age("b.db");
    TableWatch w;
    w.add_value("btree:" + d.path + "/a hash:" + d.path + "/b");
    CHECK_FALSE(w.changed());

    d.write("a.db", "changed"); // new mtime
    REQUIRE(w.changed());
    CHECK(*w.changed() == "btree:" + d.path + "/a");

    TableWatch w2;
    w2.add_value("hash:" + d.path + "/b");
    ::unlink((d.path + "/b.db").c_str());
    REQUIRE(w2.changed());
    CHECK(*w2.changed() == "hash:" + d.path + "/b");
}
