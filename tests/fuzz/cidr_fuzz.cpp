// Fuzz target: cidr: tables. Input: the first line is a lookup key, the
// rest the table file; the table is opened from a memory file (as a daemon
// opens cidr:/path) and queried with that key and a few fixed addresses.
#include "fuzz_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace {

// One memory file reused for every input.
int table_fd() {
    static const int fd = ::memfd_create("cidr-fuzz", MFD_CLOEXEC);
    if (fd < 0) std::abort();
    return fd;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    psm::fuzz::quiet_logging();
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view key = input.substr(0, input.find('\n'));
    std::string_view table = key.size() < input.size() ? input.substr(key.size() + 1) : std::string_view{};

    const int fd = table_fd();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, table.data(), table.size(), 0) != static_cast<ssize_t>(table.size()))
        std::abort();
    const std::string name = "cidr:/proc/self/fd/" + std::to_string(fd);
    std::unique_ptr<psm::Dict> dict;
    try {
        dict = psm::dict_open(name, psm::DictOpenOptions{});
    } catch (const psm::ConfigError&) {
        return 0;
    }
    for (std::string_view k : {key, std::string_view("192.0.2.1"), std::string_view("2001:db8::1"),
                               std::string_view("0.0.0.0"), std::string_view("::ffff:10.0.0.1")}) {
        (void)dict->lookup(k);
    }
    return 0;
}
