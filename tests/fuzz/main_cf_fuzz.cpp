// Fuzz target: main.cf as text (logical lines, name = value, warnings), then
// the configuration a daemon sees: $name expansion of every entry and the
// typed getters of a few parameters whose values the file may set. Bad
// input must end in ConfigError (or MacroError), never anything else.
#include "fuzz_support.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/util/error.hpp"

#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    psm::fuzz::quiet_logging();
    std::string_view text(reinterpret_cast<const char*>(data), size);
    psm::MainCfFile file;
    try {
        file = psm::parse_main_cf(text, "/fuzz/main.cf");
    } catch (const psm::ConfigError&) {
        return 0;
    }
    // Names are split as stock's split_nameval(): no blank or '=' in them;
    // values are trimmed; each name appears once.
    for (const auto& entry : file.entries) {
        if (entry.name.empty() || entry.name.find_first_of(" \t\n\r\v\f=") != std::string::npos) std::abort();
        if (!entry.value.empty() && (entry.value.front() == ' ' || entry.value.back() == ' ')) std::abort();
        if (entry.line < 1 || file.find(entry.name) != &entry) std::abort();
    }
    const psm::Config config = psm::Config::from_main_cf(file, "/fuzz");
    for (const auto& entry : file.entries) {
        try {
            (void)config.expand(entry.value);
        } catch (const psm::ConfigError&) {
        }
    }
    auto get = [&](auto&& getter) {
        try {
            getter();
        } catch (const psm::ConfigError&) {
        }
    };
    get([&] { (void)config.get_str("myhostname"); });
    get([&] { (void)config.get_str("smtpd_banner"); });
    get([&] { (void)config.get_time("postscreen_greet_wait", {{"stress", "yes"}}); });
    get([&] { (void)config.get_time("postscreen_dnsbl_max_ttl"); });
    get([&] { (void)config.get_int("postscreen_command_count_limit"); });
    get([&] { (void)config.get_int("message_size_limit"); });
    get([&] { (void)config.get_bool("postscreen_pipelining_enable"); });
    get([&] { (void)config.get_str("postscreen_dnsbl_sites"); });
    return 0;
}
