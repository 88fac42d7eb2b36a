// Keys and certificate chains from PEM files, with stock Postfix's
// ordering rules and warnings.
#include "cert_loader.hpp"

#include "tls_errors.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace psm::tlsproxy {
namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
    void operator()(X509* c) const { X509_free(c); }
};
struct ChainFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct OpenSslFree {
    void operator()(void* p) const { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using ChainPtr = std::unique_ptr<STACK_OF(X509), ChainFree>;

// Ordered (chain-files) loading: nothing seen yet, a key waiting for its
// leaf certificate, or a key and leaf collecting issuers. Mixed files have
// no order: the first key goes with the first certificate.
enum class State { empty, key, chain };

class PemLoader {
public:
    PemLoader(SSL_CTX* ctx, std::string origin, bool mixed) : ctx_(ctx), origin_(std::move(origin)), mixed_(mixed) {}

    // Reads every object of one file; false when loading must stop.
    bool read(BIO* bio, const std::string& source) {
        source_ = source;
        ERR_clear_error();
        for (object_ = 1;; ++object_) {
            char* name_raw = nullptr;
            char* header_raw = nullptr;
            unsigned char* data_raw = nullptr;
            long length = 0;
            if (!PEM_read_bio(bio, &name_raw, &header_raw, &data_raw, &length)) {
                if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) return fail();
                ERR_clear_error();
                return true; // clean end of file
            }
            std::unique_ptr<char, OpenSslFree> name(name_raw);
            std::unique_ptr<char, OpenSslFree> header(header_raw);
            std::unique_ptr<unsigned char, OpenSslFree> data(data_raw);
            if (!object(name.get(), data.get(), length)) return false;
        }
    }

    // After the last file (ok: every read succeeded): installs the final
    // chain; logs and returns false on any problem.
    bool finish(bool ok) {
        if (ok) {
            if (mixed_) {
                if (!seen_)
                    msg_warn("No PEM data in %s", origin_.c_str());
                else if (key_ && !cert_)
                    msg_warn("No certs for key at index %d in %s", key_index_, key_source_.c_str());
                else if (!key_)
                    msg_warn("No private key found in %s", origin_.c_str());
                else if (install())
                    return true;
                else
                    mismatch();
            } else if (state_ == State::empty) {
                msg_warn("No PEM data in %s", origin_.c_str());
            } else if (state_ == State::key) {
                msg_warn("No certs for key at index %d in %s", key_index_, key_source_.c_str());
            } else if (install()) {
                return true;
            } else {
                mismatch();
            }
        } else if (libcrypto_error_) {
            log_tls_errors();
        }
        msg_warn("error loading private keys and certificates from: %s: disabling TLS support", origin_.c_str());
        return false;
    }

private:
    // A libcrypto failure (its errors are logged at the end) or a rule
    // violation (already explained).
    bool fail() {
        libcrypto_error_ = true;
        return false;
    }
    bool reject() { return false; }

    void mismatch() {
        msg_warn("key at index %d in %s does not match next certificate", key_index_, key_source_.c_str());
        log_tls_errors();
    }

    bool object(const char* name, const unsigned char* data, long length) {
        if (std::strcmp(name, PEM_STRING_X509) == 0 || std::strcmp(name, PEM_STRING_X509_OLD) == 0)
            return certificate(data, length);
        int type = EVP_PKEY_NONE; // PKCS#8: the algorithm is inside
        if (std::strcmp(name, PEM_STRING_RSA) == 0)
            type = EVP_PKEY_RSA;
        else if (std::strcmp(name, PEM_STRING_ECPRIVATEKEY) == 0)
            type = EVP_PKEY_EC;
        else if (std::strcmp(name, PEM_STRING_DSA) == 0)
            type = EVP_PKEY_DSA;
        else if (std::strcmp(name, PEM_STRING_PKCS8INF) != 0) {
            if (!mixed_) msg_warn("loading %s: ignoring PEM type: %s", source_.c_str(), name);
            return true;
        }
        return private_key(type, data, length);
    }

    bool certificate(const unsigned char* data, long length) {
        const unsigned char* p = data;
        X509Ptr cert(d2i_X509(nullptr, &p, length));
        if (!mixed_ && state_ == State::empty) {
            msg_warn("error loading chain from %s: key not first", source_.c_str());
            return reject();
        }
        if (!cert) {
            msg_warn("error loading certificate (PEM object number %d) from %s", object_, source_.c_str());
            return fail();
        }
        if (p - data != length) {
            msg_warn("error loading certificate (PEM object number %d) from %s: excess data", object_, source_.c_str());
            return reject();
        }
        seen_ = true;
        if (!cert_) {
            cert_ = std::move(cert);
            state_ = State::chain;
            return true;
        }
        if (!chain_) chain_.reset(sk_X509_new_null());
        if (!chain_ || !sk_X509_push(chain_.get(), cert.get())) return fail();
        (void)cert.release(); // owned by the stack now
        return true;
    }

    bool private_key(int type, const unsigned char* data, long length) {
        const unsigned char* p = data;
        PkeyPtr key;
        if (type != EVP_PKEY_NONE) {
            key.reset(d2i_PrivateKey(type, nullptr, &p, length));
        } else if (PKCS8_PRIV_KEY_INFO* p8 = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, length)) {
            key.reset(EVP_PKCS82PKEY(p8));
            PKCS8_PRIV_KEY_INFO_free(p8);
        }
        if (mixed_) {
            if (key_) {
                msg_warn("ignoring 2nd key at index %d in %s after 1st at %d", object_, source_.c_str(), key_index_);
                return true;
            }
        } else if (state_ == State::key) {
            msg_warn("error loading certificate chain: key at index %d in %s not followed by a certificate", key_index_,
                     key_source_.c_str());
            return reject();
        } else if (state_ == State::chain && !install()) {
            // A new key ends the previous key's chain.
            msg_warn("error loading certificate chain: key at index %d in %s does not match the certificate",
                     key_index_, key_source_.c_str());
            return fail();
        }
        if (!key) {
            msg_warn("error loading private key (PEM object number %d) from %s", object_, source_.c_str());
            return fail();
        }
        if (p - data != length) {
            msg_warn("error loading private key (PEM object number %d) from %s: excess data", object_, source_.c_str());
            return reject();
        }
        seen_ = true;
        key_ = std::move(key);
        key_index_ = object_;
        key_source_ = source_;
        if (!mixed_) state_ = State::key;
        return true;
    }

    // Hands the current key, leaf and issuers to the context.
    bool install() {
        ERR_clear_error();
        int ok = SSL_CTX_use_cert_and_key(ctx_, cert_.get(), key_.get(), chain_.get(), 0);
        cert_.reset();
        key_.reset();
        chain_.reset();
        state_ = State::empty;
        return ok == 1;
    }

    SSL_CTX* ctx_;
    std::string origin_;
    bool mixed_;
    std::string source_;
    int object_ = 0;
    State state_ = State::empty;
    bool seen_ = false;
    bool libcrypto_error_ = false;
    PkeyPtr key_;
    int key_index_ = 0;
    std::string key_source_;
    X509Ptr cert_;
    ChainPtr chain_;
};

std::string errno_text(int err) {
    return std::strerror(err);
}

bool load_mixed_file(SSL_CTX* ctx, const std::string& file) {
    BioPtr bio(BIO_new_file(file.c_str(), "r"));
    if (!bio) {
        int err = errno;
        ERR_clear_error();
        msg_warn("error opening chain file: %s: %s", file.c_str(), errno_text(err).c_str());
        return false;
    }
    PemLoader loader(ctx, file, true);
    bool ok = loader.read(bio.get(), file);
    return loader.finish(ok);
}

} // namespace

bool load_chain_files(SSL_CTX* ctx, const std::string& files) {
    PemLoader loader(ctx, files, false);
    const auto list = split_tokens(files);
    for (const auto& file : list) {
        BioPtr bio(BIO_new_file(file.c_str(), "r"));
        if (!bio) {
            int err = errno;
            ERR_clear_error();
            msg_warn("error opening chain file: %s: %s", file.c_str(), errno_text(err).c_str());
            return true; // stock 3.7 carries on without these certificates
        }
        if (!loader.read(bio.get(), file)) return loader.finish(false);
    }
    return loader.finish(true);
}

bool load_cert_key_pair(SSL_CTX* ctx, const char* type, const std::string& cert_file, const std::string& key_file) {
    if (cert_file == key_file) return load_mixed_file(ctx, cert_file);
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) <= 0) {
        msg_warn("cannot get %s certificate from file \"%s\": disabling TLS support", type, cert_file.c_str());
        log_tls_errors();
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) <= 0) {
        msg_warn("cannot get %s private key from file \"%s\": disabling TLS support", type, key_file.c_str());
        log_tls_errors();
        return false;
    }
    if (!SSL_CTX_check_private_key(ctx)) {
        msg_warn("%s private key in %s does not match public key in %s: disabling TLS support", type, key_file.c_str(),
                 cert_file.c_str());
        return false;
    }
    return true;
}

} // namespace psm::tlsproxy
