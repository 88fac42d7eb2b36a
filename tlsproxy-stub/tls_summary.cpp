// Postfix-worded TLS handshake summary and trace lines.
#include "tls_summary.hpp"

#include "psm/util/log.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <array>

namespace psm::tlsproxy {
namespace {

// "RSA-PSS" with its size, "ECDSA" with its curve, else the short name.
struct KeyLabel {
    std::string name;
    std::string detail; // " (2048 bits)" or " (prime256v1)"
};

std::string group_name(EVP_PKEY* pkey) {
    std::array<char, 80> name{};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(pkey, name.data(), name.size(), &length) == 1) return name.data();
    return {};
}

KeyLabel signature_label(EVP_PKEY* pkey) {
    KeyLabel label;
    int nid = EVP_PKEY_get_base_id(pkey);
    if (nid == EVP_PKEY_RSA) {
        label.name = "RSA-PSS";
        if (int bits = EVP_PKEY_get_bits(pkey); bits > 0) label.detail = " (" + std::to_string(bits) + " bits)";
    } else if (nid == EVP_PKEY_EC) {
        label.name = "ECDSA";
        if (auto curve = group_name(pkey); !curve.empty()) label.detail = " (" + curve + ")";
    } else if (const char* sn = OBJ_nid2sn(nid)) {
        label.name = sn;
    }
    return label;
}

void append_tls13_details(SSL* ssl, std::string& line) {
    EVP_PKEY* kex = nullptr;
    if (SSL_get_peer_tmp_key(ssl, &kex) == 1 && kex) {
        int nid = EVP_PKEY_get_base_id(kex);
        if (nid == EVP_PKEY_DH) {
            line += " key-exchange DHE";
            if (int bits = EVP_PKEY_get_bits(kex); bits > 0) line += " (" + std::to_string(bits) + " bits)";
        } else if (nid == EVP_PKEY_EC) {
            line += " key-exchange ECDHE";
            if (auto curve = group_name(kex); !curve.empty()) line += " (" + curve + ")";
        } else if (const char* sn = OBJ_nid2sn(nid)) {
            line += " key-exchange ";
            line += sn;
        }
        EVP_PKEY_free(kex);
    }
    int nid = NID_undef;
    if (X509* mine = SSL_get_certificate(ssl)) {
        if (EVP_PKEY* pkey = X509_get0_pubkey(mine)) {
            KeyLabel label = signature_label(pkey);
            if (!label.name.empty()) {
                line += " server-signature " + label.name + label.detail;
                if (SSL_get_signature_nid(ssl, &nid) == 1 && nid != NID_undef) {
                    line += " server-digest ";
                    line += OBJ_nid2sn(nid);
                }
            }
        }
    }
    if (X509* peer = SSL_get0_peer_certificate(ssl)) {
        if (EVP_PKEY* pkey = X509_get0_pubkey(peer)) {
            KeyLabel label = signature_label(pkey);
            if (!label.name.empty()) {
                line += " client-signature " + label.name + label.detail;
                if (SSL_get_peer_signature_nid(ssl, &nid) == 1 && nid != NID_undef) {
                    line += " client-digest ";
                    line += OBJ_nid2sn(nid);
                }
            }
        }
    }
}

} // namespace

std::string tls_summary(SSL* ssl, const std::string& namaddr) {
    const char* trust = "Anonymous";
    if (SSL_get0_peer_certificate(ssl)) trust = SSL_get_verify_result(ssl) == X509_V_OK ? "Trusted" : "Untrusted";
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    int alg_bits = 0;
    int use_bits = cipher ? SSL_CIPHER_get_bits(cipher, &alg_bits) : 0;
    std::string line = trust;
    line += " TLS connection established from " + namaddr + ": " + SSL_get_version(ssl) + " with cipher ";
    line += cipher ? SSL_CIPHER_get_name(cipher) : "(NONE)";
    line += " (" + std::to_string(use_bits) + "/" + std::to_string(alg_bits) + " bits)";
    if (SSL_version(ssl) >= TLS1_3_VERSION) append_tls13_details(ssl, line);
    return line;
}

void tls_info_callback(const SSL* ssl, int where, int ret) {
    const int w = where & ~SSL_ST_MASK;
    const char* role = (w & SSL_ST_CONNECT) ? "SSL_connect" : (w & SSL_ST_ACCEPT) ? "SSL_accept" : "unknown";
    if (where & SSL_CB_LOOP) {
        msg_info("%s:%s", role, SSL_state_string_long(ssl));
    } else if (where & SSL_CB_ALERT) {
        if ((ret & 0xff) != SSL3_AD_CLOSE_NOTIFY)
            msg_info("SSL3 alert %s:%s:%s", (where & SSL_CB_READ) ? "read" : "write", SSL_alert_type_string_long(ret),
                     SSL_alert_desc_string_long(ret));
    } else if (where & SSL_CB_EXIT) {
        if (ret == 0) {
            msg_info("%s:failed in %s", role, SSL_state_string_long(ssl));
        } else if (ret < 0) {
            int err = SSL_get_error(ssl, ret);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                msg_info("%s:error in %s", role, SSL_state_string_long(ssl));
        }
    }
}

} // namespace psm::tlsproxy
