// The endpoints of one postscreen session as strings, the way stock logs and
// passes them: the client and server IP (no brackets; IPv4-mapped IPv6
// reduced to dotted quad when IPv4 is enabled) and the decimal ports. They
// come from the socket or from a HAProxy PROXY header (haproxy.hpp).
#pragma once

#include <string>

namespace psm::postscreen {

struct ClientEndpoint {
    std::string client_addr; // "192.0.2.7", "2001:db8::7"
    std::string client_port; // "41511"
    std::string server_addr; // the local (or proxied destination) address
    std::string server_port;
};

} // namespace psm::postscreen
