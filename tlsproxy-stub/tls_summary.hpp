// What the TLS library logs about a handshake, worded as Postfix's: the
// loglevel-1 summary ("Anonymous TLS connection established from PEER:
// TLSv1.3 with cipher ... (256/256 bits) key-exchange X25519
// server-signature RSA-PSS (2048 bits) server-digest SHA256") and the
// loglevel-2 handshake trace ("SSL_accept:SSLv3/TLS read client hello").
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace psm::tlsproxy {

// The summary line for a completed server-side handshake with peer
// `namaddr` (the TLS 1.3 details only for TLS 1.3).
std::string tls_summary(SSL* ssl, const std::string& namaddr);

// For SSL_CTX_set_info_callback: logs handshake states, alerts and
// failures as stock's tls_info_callback does.
void tls_info_callback(const SSL* ssl, int where, int ret);

} // namespace psm::tlsproxy
