// Fuzz target: master.cf as master reads it (fields, "-" defaults, {...}
// arguments, -o pairs, wakeup and process limits, duplicates). Bad input
// must end in ConfigError, never anything else.
#include "fuzz_support.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/global/master_cf.hpp"
#include "psm/util/error.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    psm::fuzz::quiet_logging();
    static const psm::Config config = psm::Config::from_main_cf(
        psm::parse_main_cf("compatibility_level = 3.6\nmaster_service_disable = disabled/inet\n", "/fuzz/main.cf"),
        "/fuzz");
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        psm::MasterCf m = psm::parse_master_cf(text, "/fuzz/master.cf", config);
        for (const auto& s : m.services) {
            if (s.command.empty() || s.wakeup < 0 || s.max_proc < 0) std::abort();
            if (s.other_args.size() > s.args.size()) std::abort();
        }
    } catch (const psm::ConfigError&) {
    }
    return 0;
}
