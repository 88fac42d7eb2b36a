// Tests for postscreen's "after %s" delay formatting; expected strings come from stock libpostfix-util format_tv().
#include "psm/util/format_delay.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using psm::format_delay;

namespace {

struct Case {
    long long usec;
    int limit;
    const char* text;
};

// Produced by calling stock Postfix 3.7.11's format_tv(buf, sec, usec, 2, limit).
constexpr Case kStockCases[] = {
    {0, 2, "0"},         {3000, 2, "0"},
    {4999, 2, "0"},      {5000, 2, "0.01"},
    {6000, 2, "0.01"},   {94999, 2, "0.09"},
    {95000, 2, "0.1"},   {290000, 2, "0.29"},
    {294999, 2, "0.29"}, {295000, 2, "0.3"},
    {400000, 2, "0.4"},  {994999, 2, "0.99"},
    {995000, 2, "1"},    {999999, 2, "1"},
    {1000000, 2, "1"},   {1049999, 2, "1"},
    {1050000, 2, "1.1"}, {1130000, 2, "1.1"},
    {5960000, 2, "6"},   {9949999, 2, "9.9"},
    {9950000, 2, "10"},  {12600000, 2, "13"},
    {12499999, 2, "12"}, {99500000, 2, "100"},
    {3500000, 2, "3.5"}, {86400000000, 2, "86400"},
    {0, 0, "0"},         {499999, 0, "0"},
    {500000, 0, "1"},    {1130000, 0, "1"},
    {1500000, 0, "2"},   {12600000, 0, "13"},
    {7, 6, "0.000007"},  {50, 6, "0.00005"},
    {105, 6, "0.00011"}, {999, 6, "0.001"},
    {99949, 6, "0.1"},   {99950, 6, "0.1"},
    {123456, 6, "0.12"}, {5, 6, "0.000005"},
    {0, 6, "0"},         {1130000, 6, "1.1"},
    {12600000, 6, "13"}, {9950000, 6, "10"},
    {1, 6, "0.000001"},  {994999, 6, "0.99"},
    {995000, 6, "1"},    {3000, 1, "0"},
    {50000, 1, "0.1"},   {949999, 1, "0.9"},
    {950000, 1, "1"},    {1130000, 1, "1.1"},
    {3000, 3, "0.003"},  {1234, 3, "0.001"},
    {1235, 3, "0.001"},  {99949, 3, "0.1"},
    {123456, 4, "0.12"}, {12345, 5, "0.012"},
};

} // namespace

TEST_CASE("format_delay matches stock format_tv with 2 significant digits", "[format_delay]") {
    for (const Case& c : kStockCases) {
        INFO(c.usec << " us, limit " << c.limit);
        CHECK(format_delay(std::chrono::microseconds(c.usec), c.limit) == c.text);
    }
}

TEST_CASE("format_delay: the spec's postscreen examples", "[format_delay]") {
    CHECK(format_delay(3ms, 2) == "0");
    CHECK(format_delay(6ms, 2) == "0.01");
    CHECK(format_delay(290ms, 2) == "0.29");
    CHECK(format_delay(400ms, 2) == "0.4");
    CHECK(format_delay(1130ms, 2) == "1.1");
    CHECK(format_delay(5960ms, 2) == "6");
    CHECK(format_delay(12600ms, 2) == "13");
}

TEST_CASE("format_delay: negative time prints 0, bad limits are rejected", "[format_delay]") {
    CHECK(format_delay(-5s, 2) == "0");
    CHECK(format_delay(-1us, 6) == "0");
    CHECK_THROWS_AS(format_delay(1s, -1), std::invalid_argument);
    CHECK_THROWS_AS(format_delay(1s, 7), std::invalid_argument);
}
