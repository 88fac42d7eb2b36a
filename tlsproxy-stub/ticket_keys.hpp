// RFC 5077 session-ticket keys kept inside the tlsproxy process. Stock
// Postfix fetches ticket keys from tlsmgr(8) so that all its processes share
// them; our tlsproxy is one event-driven process, so it makes its own: a
// random key encrypts new tickets for half the session-cache timeout, and
// the previous key still decrypts (and renews) tickets for the other half,
// so a ticket is honoured for at most about smtpd_tls_session_cache_timeout.
// Keys never leave memory; a restart simply means a full handshake.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <ctime>
#include <optional>

namespace psm::tlsproxy {

class TicketKeys {
public:
    static constexpr std::size_t kNameSize = 16;

    struct Key {
        std::array<unsigned char, kNameSize> name{};
        std::array<unsigned char, 32> cipher_key{};
        std::array<unsigned char, 32> hmac_key{};
        std::time_t expires = 0; // end of its encryption period (what stock logs)
    };

    // cipher: tls_session_ticket_cipher; timeout: the session-cache
    // timeout in seconds (at least 120).
    TicketKeys(const EVP_CIPHER* cipher, long timeout) : cipher_(cipher), timeout_(timeout) {}

    const EVP_CIPHER* cipher() const { return cipher_; }

    // The key for a new ticket (rotating when due); nullptr if no random
    // bytes could be had.
    const Key* encryption_key(std::time_t now);
    // The key for a ticket named `name`, if it is still honoured.
    const Key* decryption_key(const unsigned char* name, std::time_t now) const;
    // Whether tickets made with this key should be replaced by new ones.
    bool is_current(const Key* key) const { return key == &*current_; }

private:
    const EVP_CIPHER* cipher_;
    long timeout_;
    std::optional<Key> current_;
    std::optional<Key> previous_;
};

// Validates a tls_session_ticket_cipher value as stock requires (CBC mode,
// 128-bit blocks, 128..256-bit keys). nullptr when unusable.
const EVP_CIPHER* ticket_cipher(const char* name);

} // namespace psm::tlsproxy
