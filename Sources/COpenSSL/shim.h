#ifndef WHATIF_COPENSSL_SHIM_H
#define WHATIF_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509v3.h>
#include <openssl/rand.h>

/* Macros Swift cannot import. */
static inline long whatif_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline int whatif_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int whatif_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
#endif
