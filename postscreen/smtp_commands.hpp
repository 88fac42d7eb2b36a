// Private to the SMTP engine: stock 3.7's command table (names, in order,
// and their flags). The engine's "where" value is the table name, or
// "UNIMPLEMENTED" for anything else.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace psm::postscreen::smtp_commands {

enum class Verb : std::size_t {
    helo,
    ehlo,
    starttls,
    xclient,
    xforward,
    auth,
    mail,
    rcpt,
    data,
    bdat,
    rset,
    noop,
    vrfy,
    etrn,
    quit
};

struct CommandInfo {
    std::string_view name;
    bool enabled;     // XCLIENT, XFORWARD and AUTH are known but disabled
    bool pre_tls;     // allowed while TLS is mandatory and not active
    bool has_payload; // exempt from the pipelining test (BDAT)
};

inline constexpr std::array<CommandInfo, 15> kCommands{{
    {"HELO", true, true, false},
    {"EHLO", true, true, false},
    {"STARTTLS", true, true, false},
    {"XCLIENT", false, false, false},
    {"XFORWARD", false, false, false},
    {"AUTH", false, false, false},
    {"MAIL", true, false, false},
    {"RCPT", true, false, false},
    {"DATA", true, false, false},
    {"BDAT", true, false, true},
    {"RSET", true, false, false},
    {"NOOP", true, true, false},
    {"VRFY", true, false, false},
    {"ETRN", true, false, false},
    {"QUIT", true, true, false},
}};

inline constexpr std::string_view kUnimplemented = "UNIMPLEMENTED";

inline const CommandInfo& info(Verb verb) {
    return kCommands[static_cast<std::size_t>(verb)];
}

// Case-insensitive lookup of a command token.
std::optional<Verb> find_verb(std::string_view token);

} // namespace psm::postscreen::smtp_commands
