// Loading the server's private keys and certificate chains into an SSL_CTX
// the way stock Postfix does, with its warnings:
//   - smtpd_tls_chain_files style: a list of PEM files holding, in order,
//     key, leaf certificate, issuer certificates, then the next key...;
//   - the legacy cert_file/key_file pairs (RSA, DSA, ECDSA); when a pair
//     names one file, that file may hold the key anywhere among the
//     certificates ("mixed" file).
// Every function returns false after logging why ("... disabling TLS
// support"), except where stock carries on (see load_chain_files).
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace psm::tlsproxy {

// The chain-files list (comma/space separated). A file that cannot be
// opened is logged ("error opening chain file: F: REASON") and, as in
// stock 3.7, the context is kept without certificates.
bool load_chain_files(SSL_CTX* ctx, const std::string& files);

// One legacy pair; type is "RSA", "DSA" or "ECDSA" (for the warnings).
bool load_cert_key_pair(SSL_CTX* ctx, const char* type, const std::string& cert_file, const std::string& key_file);

} // namespace psm::tlsproxy
