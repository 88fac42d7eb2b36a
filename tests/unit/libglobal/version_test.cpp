// The compiled-in version matches the CMake project version's shape.
#include "psm/global/version.hpp"

#include <catch2/catch.hpp>

#include <regex>

TEST_CASE("version is a dotted triple", "[version]") {
    CHECK(std::regex_match(psm::psmaster_version(), std::regex(R"(\d+\.\d+\.\d+)")));
}
