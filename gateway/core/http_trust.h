/* http_trust.h: whom an outbound HTTPS client trusts (EJBCA, ACME, Intune,
 * webhooks): the same two keys in each of those sections, one definition.
 *
 *   ca_bundle: FILE          PEM CA certificates: the ONLY trust anchors for
 *                            this peer (libcurl's compiled-in CA file and
 *                            directory are switched off).  Absent: the system
 *                            store.
 *   pin_sha256: [B64, ...]   optional: base64 SHA-256 of the peer's
 *                            SubjectPublicKeyInfo (as `openssl x509 -pubkey |
 *                            openssl pkey -pubin -outform der | openssl dgst
 *                            -sha256 -binary | base64` prints it); the
 *                            connection is refused unless the server's key is
 *                            one of them (checked after the chain verifies).
 *
 * A section's field table lists HTTP_TRUST_FIELDS(conf type, member); its
 * configure() calls http_trust_check() and its requests http_trust_apply().
 * cfg_fields_free() of the section's table frees both keys. */
#ifndef SGW_HTTP_TRUST_H
#define SGW_HTTP_TRUST_H

#include <stddef.h>

#include "cfg_node.h"
#include "http_client.h"

#define HTTP_TRUST_MAX_PINS 4
/* "sha256//<44 base64>" per pin, ';' between: curl's CURLOPT_PINNEDPUBLICKEY */
#define HTTP_TRUST_PINNED_SIZE (HTTP_TRUST_MAX_PINS * (8 + 44 + 1) + 1)

struct http_trust {
	char *ca_bundle;
	struct cfg_strlist pin_sha256;
	char pinned[HTTP_TRUST_PINNED_SIZE]; /* built by http_trust_check; "" when no pin */
};

/* clang-format off */
#define HTTP_TRUST_FIELDS(type, member)                                       \
	{"ca_bundle", CFG_STR, offsetof(type, member.ca_bundle), 0},          \
	{"pin_sha256", CFG_STRLIST, offsetof(type, member.pin_sha256), 0}
/* clang-format on */

/* Pins -> curl's form in out[size]: each must be base64 of exactly 32 bytes
 * (an optional "sha256//" prefix is accepted), 1 to HTTP_TRUST_MAX_PINS.
 * -SGW_EPARSE naming nothing secret (pins are public).  Pure. */
int http_trust_pins(const struct cfg_strlist *pins, char *out, size_t size);

/* After cfg_parse_map(): the bundle holds at least one PEM certificate and
 * the pins parse (t->pinned is built).  `n` is the section's node, `path`
 * its dotted path, for "file:line: path.key: ..." messages. */
int http_trust_check(struct http_trust *t, const struct cfg_node *n, const char *path,
		     struct sgw_err *err);

/* Sets req->ca_bundle and req->pinned_pubkey (borrowed from t). */
void http_trust_apply(const struct http_trust *t, struct http_request *req);

#endif
