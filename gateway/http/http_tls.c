/* http_tls.c: a listener's SSL_CTX and its per-connection bufferevent
 * (http_tls.h).  TLS runs through bufferevent_openssl. */
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "http_tls.h"
#include "secret_file.h"

struct bufferevent *
http_tls_bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

/* Any verification result passes the handshake (http_spec.h: client_ca). */
static int
verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static int
client_ca_load(SSL_CTX *ctx, const char *file, struct sgw_err *err)
{
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(file);

	if (names == NULL || SSL_CTX_load_verify_locations(ctx, file, NULL) != 1) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return sgw_err_set(err, SGW_EPARSE, "%s: cannot load the client CA certificates",
				   file);
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_any);
	return 0;
}

static int
keypair_load(SSL_CTX *ctx, const struct http_spec *s, struct sgw_err *err)
{
	int r;

	if ((r = secret_file_check(s->key, err)) < 0)
		return r;
	if (SSL_CTX_use_certificate_chain_file(ctx, s->cert) != 1)
		return sgw_err_set(err, SGW_EPARSE, "%s: cannot load the TLS certificate chain",
				   s->cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, s->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return sgw_err_set(err, SGW_EPARSE, "%s: TLS key unreadable or does not match %s",
				   s->key, s->cert);
	return 0;
}

int
http_tls_ctx_new(const struct http_spec *s, SSL_CTX **ret, struct sgw_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	uint64_t opts = SSL_OP_NO_RENEGOTIATION;
	int r;

	if (ctx == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "SSL_CTX_new failed");
	if (s->tls_flags & HTTP_TLS_SERVER_ORDER)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	if (s->tls_flags & HTTP_TLS_NO_TICKETS)
		opts |= SSL_OP_NO_TICKET;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, opts);
	if ((r = keypair_load(ctx, s, err)) < 0 ||
	    (s->client_ca != NULL && (r = client_ca_load(ctx, s->client_ca, err)) < 0))
		goto out;
	*ret = ctx;
	ctx = NULL;
out:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return r;
}
