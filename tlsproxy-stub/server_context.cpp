// Building tlsproxy's server SSL_CTX from its settings, as stock does.
#include "server_context.hpp"

#include "cert_loader.hpp"
#include "tls_errors.hpp"
#include "tls_protocols.hpp"
#include "tls_summary.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace psm::tlsproxy {
namespace {

constexpr long kMinTicketLifetime = 2 * 60;
constexpr long kMaxTicketLifetime = 100L * 24 * 3600;
constexpr unsigned char kSessionIdContext[] = "psmaster/tlsproxy";

// Accepts any client certificate (the summary says whether it was trusted).
int accept_any_certificate(int, X509_STORE_CTX*) {
    return 1;
}

} // namespace

std::unique_ptr<ServerContext> ServerContext::create(const ServerSettings& settings) {
    if (!settings.enabled) return nullptr;

    // Which certificates are there, and do we need one (stock's checks).
    const bool require_cert = settings.ask_ccert || (settings.enforce && settings.req_ccert);
    bool no_cert_ok = false;
    ServerSettings s = settings;
    if (iequals(s.cert_file, "none")) {
        no_cert_ok = true;
        s.cert_file.clear();
    }
    const bool have_cert =
        !s.cert_file.empty() || !s.dcert_file.empty() || !s.eccert_file.empty() || !s.chain_files.empty();
    if (!have_cert && require_cert) msg_warn("Need a server cert to request client certs");
    if (!s.enforce && s.req_ccert) msg_warn("Can't require client certs unless TLS is required");
    if (!have_cert && !(no_cert_ok && !require_cert)) {
        msg_warn("No server certs available. TLS can't be enabled");
        return nullptr;
    }
    auto context = std::make_unique<ServerContext>(Private{}, s);
    if (!context->init()) return nullptr;
    return context;
}

ServerContext::~ServerContext() {
    SSL_CTX_free(ctx_);
}

bool ServerContext::init() {
    const ServerSettings& s = settings_;
    if (s.log_mask & kTlsLogVerbose) msg_info("initializing the server-side TLS engine");

    auto protocols = parse_protocols(s.protocols);
    if (!protocols) {
        msg_warn("Invalid TLS protocol list \"%s\": disabling TLS support", s.protocols.c_str());
        return false;
    }
    if (!EVP_get_digestbyname(s.fingerprint_digest.c_str())) {
        msg_warn("Digest algorithm \"%s\" not found: disabling TLS support", s.fingerprint_digest.c_str());
        return false;
    }
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_) {
        msg_warn("cannot allocate server SSL_CTX: disabling TLS support");
        log_tls_errors();
        return false;
    }
    // Opportunistic TLS: every protocol and cipher the configuration
    // allows, whatever OpenSSL's default security level says.
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_verify_depth(ctx_, s.ccert_verifydepth + 1);

    uint64_t options = SSL_OP_ALL | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (s.preempt_cipherlist) options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (protocols->excluded & kProtoSSLv3) options |= SSL_OP_NO_SSLv3;
    if (protocols->excluded & kProtoTLSv1) options |= SSL_OP_NO_TLSv1;
    if (protocols->excluded & kProtoTLSv1_1) options |= SSL_OP_NO_TLSv1_1;
    if (protocols->excluded & kProtoTLSv1_2) options |= SSL_OP_NO_TLSv1_2;
    if (protocols->excluded & kProtoTLSv1_3) options |= SSL_OP_NO_TLSv1_3;
    SSL_CTX_set_options(ctx_, options);
    if (protocols->floor && !SSL_CTX_set_min_proto_version(ctx_, protocols->floor))
        msg_warn("error setting minimum TLS version to: 0x%04x", static_cast<unsigned>(protocols->floor));
    if (protocols->ceiling && !SSL_CTX_set_max_proto_version(ctx_, protocols->ceiling))
        msg_warn("error setting maximum TLS version to: 0x%04x", static_cast<unsigned>(protocols->ceiling));

    if (s.log_mask & kTlsLogDebug) SSL_CTX_set_info_callback(ctx_, tls_info_callback);

    if (!s.ca_file.empty() || !s.ca_path.empty()) {
        ERR_clear_error();
        const char* file = s.ca_file.empty() ? nullptr : s.ca_file.c_str();
        const char* path = s.ca_path.empty() ? nullptr : s.ca_path.c_str();
        if (!SSL_CTX_load_verify_locations(ctx_, file, path)) {
            std::string where;
            if (file) where += std::string("CAfile=\"") + file + (path ? "\", " : "\"");
            if (path) where += std::string("CApath=\"") + path + "\"";
            msg_info("cannot load Certification Authority data, %s: disabling TLS support", where.c_str());
            log_tls_errors();
            return false;
        }
        if (file) {
            if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(file)) SSL_CTX_set_client_CA_list(ctx_, names);
            ERR_clear_error();
        }
    }
    if (!configure_certificates()) return false;
    configure_key_exchange();

    SSL_CTX_set_session_id_context(ctx_, kSessionIdContext, sizeof(kSessionIdContext) - 1);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    configure_tickets();

    if (s.ask_ccert)
        SSL_CTX_set_verify(ctx_,
                           SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE |
                               (s.enforce && s.req_ccert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           s.enforce && s.req_ccert ? nullptr : accept_any_certificate);

    ciphers_ = build_cipher_list(s);
    if (ciphers_.error.empty()) {
        ERR_clear_error();
        // Stock applies the list to each connection; a bad list is found
        // here once, with the very errors a connection would report.
        SSL* probe = SSL_new(ctx_);
        if (!probe || !SSL_set_cipher_list(probe, ciphers_.list.c_str())) {
            ciphers_.error = "error setting cipher grade: \"" + s.cipher_grade + "\"";
            cipher_errors_ = take_tls_errors();
        } else {
            SSL_CTX_set_cipher_list(ctx_, ciphers_.list.c_str());
        }
        SSL_free(probe);
    }
    // Plaintext may be handed to SSL_write in pieces from a buffer that
    // moves; idle connections give their buffers back.
    SSL_CTX_set_mode(ctx_,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_app_data(ctx_, this);
    return true;
}

bool ServerContext::configure_certificates() {
    const ServerSettings& s = settings_;
    if (!s.chain_files.empty()) {
        if (!s.cert_file.empty() || !s.eccert_file.empty() || !s.dcert_file.empty())
            msg_warn("Both %s and one or more of the legacy  %s, %s or %s are non-empty; "
                     "the legacy  parameters will be ignored",
                     "tlsproxy_tls_chain_files", "tlsproxy_tls_cert_file", "tlsproxy_tls_eccert_file",
                     "tlsproxy_tls_dcert_file");
        return load_chain_files(ctx_, s.chain_files);
    }
    if (!s.cert_file.empty() && !load_cert_key_pair(ctx_, "RSA", s.cert_file, s.key_file)) return false;
    if (!s.dcert_file.empty() && !load_cert_key_pair(ctx_, "DSA", s.dcert_file, s.dkey_file)) return false;
    if (!s.eccert_file.empty() && !load_cert_key_pair(ctx_, "ECDSA", s.eccert_file, s.eckey_file)) return false;
    return true;
}

void ServerContext::configure_key_exchange() {
    const ServerSettings& s = settings_;
    bool explicit_dh = false;
    if (!s.dh1024_param_file.empty()) {
        ERR_clear_error();
        BIO* bio = BIO_new_file(s.dh1024_param_file.c_str(), "r");
        if (!bio) {
            int err = errno;
            msg_warn("error opening DH parameter file \"%s\": %s -- using compiled-in defaults",
                     s.dh1024_param_file.c_str(), std::strerror(err));
        } else {
            EVP_PKEY* dh = nullptr;
            OSSL_DECODER_CTX* decoder = OSSL_DECODER_CTX_new_for_pkey(
                &dh, "PEM", nullptr, "DH", OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS, nullptr, nullptr);
            if (!decoder || !OSSL_DECODER_from_bio(decoder, bio) || !dh) {
                msg_warn("error decoding DH parameters from file \"%s\" -- using compiled-in defaults",
                         s.dh1024_param_file.c_str());
                log_tls_errors();
            } else if (SSL_CTX_set0_tmp_dh_pkey(ctx_, dh) == 1) {
                dh = nullptr; // owned by the context
                explicit_dh = true;
            } else {
                msg_warn("error configuring explicit DH parameters");
                log_tls_errors();
            }
            EVP_PKEY_free(dh);
            OSSL_DECODER_CTX_free(decoder);
            BIO_free(bio);
        }
    }
    if (!explicit_dh) SSL_CTX_set_dh_auto(ctx_, 1);

    // ECDHE: the supported curves of tls_eecdh_auto_curves, in order (the
    // eecdh_grade setting is ignored since Postfix 3.6).
    std::string groups;
    SSL_CTX* probe = SSL_CTX_new(TLS_server_method());
    for (const auto& curve : split_tokens(s.eecdh_auto_curves)) {
        ERR_clear_error();
        if (!probe || SSL_CTX_set1_groups_list(probe, curve.c_str()) != 1) {
            msg_warn("ignoring unknown ECDHE curve \"%s\"", curve.c_str());
            continue;
        }
        if (!groups.empty()) groups += ':';
        groups += curve;
    }
    SSL_CTX_free(probe);
    ERR_clear_error();
    if (groups.empty()) {
        if (!s.eecdh_auto_curves.empty()) msg_warn("none of the configured ECDHE curves are supported");
    } else if (SSL_CTX_set1_groups_list(ctx_, groups.c_str()) != 1) {
        msg_warn("failed to configure ECDHE curves");
        log_tls_errors();
    }
}

void ServerContext::configure_tickets() {
    const ServerSettings& s = settings_;
    long lifetime = s.session_cache_timeout;
    const EVP_CIPHER* cipher = nullptr;
    if (lifetime > 0 && !s.ticket_cipher.empty()) {
        cipher = ticket_cipher(s.ticket_cipher.c_str());
        if (!cipher)
            msg_warn("%s: invalid value: %s; session tickets disabled", "tls_session_ticket_cipher",
                     s.ticket_cipher.c_str());
    }
    if (!cipher) {
        SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx_, 0);
        return;
    }
    lifetime = std::clamp(lifetime, kMinTicketLifetime, kMaxTicketLifetime);
    tickets_ = std::make_unique<TicketKeys>(cipher, lifetime);
    SSL_CTX_set_timeout(ctx_, lifetime);
    SSL_CTX_set_num_tickets(ctx_, 1);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx_, ticket_callback);
}

int ServerContext::ticket_callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher_ctx,
                                   EVP_MAC_CTX* mac_ctx, int encrypt) {
    auto* self = static_cast<ServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    auto* peer = static_cast<TlsPeer*>(SSL_get_app_data(ssl));
    if (!self || !self->tickets_ || !peer) return encrypt ? -1 : 0;
    TicketKeys& keys = *self->tickets_;
    const std::time_t now = std::time(nullptr);
    const TicketKeys::Key* key = encrypt ? keys.encryption_key(now) : keys.decryption_key(name, now);
    if (!key) return encrypt ? -1 : 0; // no key: no ticket / full handshake
    const int iv_length = EVP_CIPHER_get_iv_length(keys.cipher());
    if (encrypt && RAND_bytes(iv, iv_length) != 1) return -1;

    char digest[] = "sha256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac_key.data()),
                                          key->hmac_key.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(mac_ctx, params) != 1) return -1;
    if (encrypt) {
        std::memcpy(name, key->name.data(), TicketKeys::kNameSize);
        if (EVP_EncryptInit_ex(cipher_ctx, keys.cipher(), nullptr, key->cipher_key.data(), iv) != 1) return -1;
    } else if (EVP_DecryptInit_ex(cipher_ctx, keys.cipher(), nullptr, key->cipher_key.data(), iv) != 1) {
        return -1;
    }
    if (self->settings_.log_mask & kTlsLogCache)
        msg_info("%s: %s session ticket, key expiration: %ld", peer->namaddr.c_str(),
                 encrypt ? "Issuing" : "Decrypting", static_cast<long>(key->expires));
    if (encrypt) return 1;
    peer->ticket_decrypted = true;
    return keys.is_current(key) ? 1 : 2; // 2: accept, and issue a fresh ticket
}

SslPtr ServerContext::accept_on(int fd, TlsPeer& peer) const {
    const unsigned mask = settings_.log_mask;
    if (mask & kTlsLogVerbose) msg_info("setting up TLS connection from %s", peer.namaddr.c_str());
    if (!ciphers_.error.empty()) {
        msg_warn("%s: %s", peer.namaddr.c_str(), ciphers_.error.c_str());
        for (const auto& line : cipher_errors_)
            msg_warn("%s", line.c_str());
        return nullptr;
    }
    if (mask & kTlsLogVerbose) msg_info("%s: TLS cipher list \"%s\"", peer.namaddr.c_str(), ciphers_.list.c_str());
    ERR_clear_error();
    SslPtr ssl(SSL_new(ctx_));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
        msg_warn("Could not allocate 'con' with SSL_new()");
        log_tls_errors();
        return nullptr;
    }
    SSL_set_app_data(ssl.get(), &peer);
    SSL_set_accept_state(ssl.get());
    return ssl;
}

void ServerContext::log_established(SSL* ssl, const TlsPeer& peer) const {
    const unsigned mask = settings_.log_mask;
    if ((mask & kTlsLogCache) && SSL_session_reused(ssl))
        msg_info("%s: Reusing old session%s", peer.namaddr.c_str(),
                 peer.ticket_decrypted ? " (RFC 5077 session ticket)" : "");
    if (mask & kTlsLogSummary) msg_info("%s", tls_summary(ssl, peer.namaddr).c_str());
}

} // namespace psm::tlsproxy
