// The server-side TLS engine of tlsproxy: one SSL_CTX built at start-up
// (pre-jail: keys are read as root) from the ServerSettings, as stock's
// tls_server_init() builds it — protocols, cipher grade, certificates and
// keys, DH/ECDHE groups, session tickets, handshake logging — and a factory
// for per-client SSL objects.
#pragma once

#include "cipher_list.hpp"
#include "server_settings.hpp"
#include "ticket_keys.hpp"

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

namespace psm::tlsproxy {

// What OpenSSL callbacks need to know about one handshake (the SSL's app
// data).
struct TlsPeer {
    std::string namaddr; // "[addr]:port", for the TLS library's log lines
    bool ticket_decrypted = false;
};

struct SslDeleter {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

class ServerContext {
    struct Private { // only create() makes a context
        explicit Private() = default;
    };

public:
    // nullptr when the server TLS engine is unavailable (TLS disabled, no
    // usable certificate, bad protocol list...); the reason is logged in
    // stock's words.
    static std::unique_ptr<ServerContext> create(const ServerSettings& settings);
    ServerContext(Private, const ServerSettings& settings) : settings_(settings) {}
    ~ServerContext();
    ServerContext(const ServerContext&) = delete;
    ServerContext& operator=(const ServerContext&) = delete;

    unsigned log_mask() const { return settings_.log_mask; }

    // A server SSL on the client's socket, or nullptr after logging why
    // (e.g. "PEER: invalid cipher grade: \"ultra\""). peer must outlive it.
    SslPtr accept_on(int fd, TlsPeer& peer) const;

    // Logs what stock logs once the handshake is done: the ticket reuse
    // note (loglevel 2) and the summary (loglevel 1).
    void log_established(SSL* ssl, const TlsPeer& peer) const;

private:
    bool init();
    bool configure_certificates();
    void configure_key_exchange();
    void configure_tickets();
    static int ticket_callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher_ctx,
                               EVP_MAC_CTX* mac_ctx, int encrypt);

    ServerSettings settings_;
    SSL_CTX* ctx_ = nullptr;
    CipherList ciphers_;
    std::vector<std::string> cipher_errors_; // TLS library lines behind a cipher-list failure
    std::unique_ptr<TicketKeys> tickets_;
};

} // namespace psm::tlsproxy
