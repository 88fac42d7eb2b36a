// Private (libglobal/src): defaults that stock Postfix computes at run time
// from the host (its name, its interfaces) and the rest of the
// configuration.
#pragma once

#include <string>

namespace psm {

class Config;

// gethostname(); a name without a dot gets ".$mydomain" (explicit
// mydomain only) or ".localdomain" appended.
std::string default_myhostname(const Config& config);

// The part of myhostname after the first dot ("localdomain" when it has
// none): "org" for "example.org".
std::string default_mydomain(const Config& config);

// The networks of the addresses in inet_interfaces (all interface
// addresses for "all") under inet_protocols, masked per mynetworks_style:
// "127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64".
std::string default_mynetworks(const Config& config);

} // namespace psm
