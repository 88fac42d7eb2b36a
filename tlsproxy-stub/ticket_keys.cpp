// In-process session-ticket key rotation.
#include "ticket_keys.hpp"

#include <openssl/rand.h>

#include <cstring>

namespace psm::tlsproxy {

const TicketKeys::Key* TicketKeys::encryption_key(std::time_t now) {
    if (current_ && now < current_->expires) return &*current_;
    Key key;
    if (RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) != 1 ||
        RAND_bytes(key.cipher_key.data(), static_cast<int>(key.cipher_key.size())) != 1 ||
        RAND_bytes(key.hmac_key.data(), static_cast<int>(key.hmac_key.size())) != 1)
        return nullptr;
    key.expires = now + timeout_ / 2;
    previous_ = std::move(current_);
    current_ = key;
    return &*current_;
}

const TicketKeys::Key* TicketKeys::decryption_key(const unsigned char* name, std::time_t now) const {
    for (const auto* key : {current_ ? &*current_ : nullptr, previous_ ? &*previous_ : nullptr}) {
        if (key && std::memcmp(key->name.data(), name, kNameSize) == 0 && now < key->expires + timeout_ / 2) return key;
    }
    return nullptr;
}

const EVP_CIPHER* ticket_cipher(const char* name) {
    const EVP_CIPHER* cipher = EVP_get_cipherbyname(name);
    if (!cipher) return nullptr;
    if (EVP_CIPHER_get_mode(cipher) != EVP_CIPH_CBC_MODE || EVP_CIPHER_get_block_size(cipher) != 16 ||
        EVP_CIPHER_get_key_length(cipher) < 16 || EVP_CIPHER_get_key_length(cipher) > 32)
        return nullptr;
    return cipher;
}

} // namespace psm::tlsproxy
