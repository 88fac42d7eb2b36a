// Tests for the postscreen cache record: encoding, stock's lenient decoding, to-do and cleanup decisions.
#include "psm/global/cache_record.hpp"

#include <catch2/catch.hpp>

using psm::CacheRecord;
using psm::PscEnabledTests;
using psm::PscTest;

namespace {

std::string reencode(std::string_view value) {
    return CacheRecord::decode(value).encode();
}

constexpr std::time_t kDay = 86400;

} // namespace

TEST_CASE("cache records round-trip the verified stock values", "[cache_record]") {
    auto r = CacheRecord::decode("1795398615;1795312275;1;1;1");
    CHECK(r[PscTest::pregreet] == 1795398615);
    CHECK(r[PscTest::dnsbl] == 1795312275);
    CHECK(r[PscTest::pipelining] == 1);
    CHECK(r[PscTest::non_smtp] == 1);
    CHECK(r[PscTest::bare_newline] == 1);
    CHECK(r.encode() == "1795398615;1795312275;1;1;1");
    CHECK(reencode("1795398798;1;1797904403;1797904403;1797904403") == "1795398798;1;1797904403;1797904403;1797904403");
    CHECK(CacheRecord::fresh().encode() == "0;0;0;0;0");
    CHECK(psm::kCacheCleanupKey == "_LAST_CACHE_CLEANUP_COMPLETED_");
}

TEST_CASE("decoding follows stock's strtoul loop", "[cache_record]") {
    // Older records with fewer fields: the newer tests read as disabled.
    CHECK(reencode("100;200") == "100;200;1;1;1");
    CHECK(reencode("100;200;300") == "100;200;300;1;1");
    CHECK(reencode("") == "1;1;1;1;1");
    CHECK(reencode("7;") == "7;1;1;1;1");
    CHECK(reencode("abc") == "1;1;1;1;1");
    CHECK(reencode("1;2;3;4;5;6") == "1;2;3;4;5");
    // Junk: the next field starts where strtoul stopped.
    CHECK(reencode("5x;6;7;8;9") == "1;1;1;1;1");
    CHECK(reencode("5 6;7") == "1;6;7;1;1");
    // An empty field before ';' is a valid 0.
    CHECK(reencode("5;;7;8;9") == "5;0;7;8;9");
    CHECK(reencode(" 5;+6;7;8;9") == "5;6;7;8;9");
    // Out of range: that field and every later one are disabled.
    CHECK(reencode("99999999999999999999;5;5;5;5") == "1;1;1;1;1");
    CHECK(reencode("5;99999999999999999999;5;5;5") == "5;1;1;1;1");
    CHECK(reencode(std::string_view("9;8\0;7;6;5", 10)) == "9;8;1;1;1");
}

TEST_CASE("to-do tests: enabled and now > stamp", "[cache_record]") {
    PscEnabledTests enabled{true, true, false, false, false};
    auto r = CacheRecord::decode("1000;2000;1;1;1");
    CHECK_FALSE(r.todo(PscTest::pregreet, 1000, enabled));
    CHECK(r.todo(PscTest::pregreet, 1001, enabled));
    CHECK_FALSE(r.todo(PscTest::pipelining, 5000, enabled)); // disabled
    CHECK_FALSE(r.any_todo(1000, enabled));
    CHECK(r.any_todo(1001, enabled));
    enabled[2] = true; // pipelining newly enabled: its stamp 1 is old
    CHECK(r.any_todo(1000, enabled));
    CHECK_FALSE(r.has_new_stamp());
    CHECK(CacheRecord::decode("1000;0;1;1;1").has_new_stamp());
}

TEST_CASE("stored records mark new stamps of disabled tests as disabled", "[cache_record]") {
    PscEnabledTests enabled{true, false, true, false, false};
    CacheRecord r = CacheRecord::fresh();
    r[PscTest::pregreet] = 1700000000;
    CHECK(r.encode_for_store(enabled) == "1700000000;1;0;1;1");
    CHECK(r[PscTest::dnsbl] == psm::kStampDisabled);
}

TEST_CASE("cleanup drops entries as stock did in the verified run", "[cache_record]") {
    // pregreet + dnsbl + pipelining enabled; retention 7 days.
    PscEnabledTests enabled{true, true, true, false, false};
    const std::time_t now = 1800000000;
    const std::time_t retention = 7 * kDay;
    auto dropped = [&](std::string_view value) {
        return CacheRecord::decode(value).expired_for_cleanup(now, retention, enabled);
    };
    std::string future = std::to_string(now + kDay);
    std::string day_ago = std::to_string(now - kDay);
    std::string eight_days_ago = std::to_string(now - 8 * kDay);
    CHECK_FALSE(dropped(future + ";" + future + ";" + future + ";1;1"));
    CHECK_FALSE(dropped(day_ago + ";" + future + ";" + future + ";0;0"));
    CHECK(dropped(eight_days_ago + ";" + future + ";" + future + ";1;1"));
    CHECK(dropped("0;0;0;0;0"));
    CHECK(dropped(future + ";" + future + ";1;1;1"));
    CHECK(dropped(future + ";" + future));
    // Stale stamps of disabled tests don't matter.
    CHECK_FALSE(dropped(future + ";" + future + ";" + future + ";" + eight_days_ago + ";0"));
    // Exactly at the boundary the entry stays (strictly older is dropped).
    std::string boundary = std::to_string(now - retention);
    CHECK_FALSE(dropped(boundary + ";" + future + ";" + future));
}
