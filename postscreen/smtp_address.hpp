// MAIL FROM / RCPT TO addresses in postscreen's SMTP engine: extraction as
// stock's psc_extract_addr() (lenient: nothing is validated) and the
// rendering in the "NOQUEUE: reject: RCPT" line per info_log_address_format
// (external: the local part quoted as RFC 822 needs, 8-bit clean, as
// global/quote_822_local.c does).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace psm::postscreen {

// info_log_address_format
enum class AddressForm : std::uint8_t { external, internal, invalid };

// `text` follows the ':' of "MAIL FROM:" or "RCPT TO:". Leading spaces are
// skipped; "<...>" runs to the matching '>', a bare address to the next
// space; '"' toggles quoting (and is removed), "\x" gives x; a source route
// "@a,@b:user@domain" is cut after its first ':'.
std::string extract_address(std::string_view text);

// The local part (before the last '@', after any source route) stays as is
// when it is an RFC 822 dot-string, else it becomes a quoted-string:
// "a b"@x, "c..d"@y, ""@b; 8-bit bytes are ordinary characters.
std::string quote_822_local(std::string_view address);

// The address as the RCPT reject line shows it (the empty address stays
// empty).
std::string log_address(std::string_view address, AddressForm form);

} // namespace psm::postscreen
