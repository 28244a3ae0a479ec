/* intune_json.h: the JSON answers of Entra ID and the Intune SCEP service
 * (docs/protocol-notes.md 2.2).  Pure: no I/O, no logging, no globals. */
#ifndef SGW_INTUNE_JSON_H
#define SGW_INTUNE_JSON_H

#include <stddef.h>
#include <stdint.h>

/* {"access_token": "...", "expires_in": N, ...}: -SGW_EPARSE unless both are
 * there (expires_in as a number or a decimal string, 1..86400*365) and the
 * token fits tok[size]. */
int intune_json_token(const uint8_t *buf, size_t len, char *tok, size_t size, long *ret_expires_in);
/* {"value": [{"providerName", "uri"}, ...]}: the uri of `provider`
 * (case-insensitive), without a trailing '/'.  -SGW_ENOTFOUND when absent. */
int intune_json_discovery(const uint8_t *buf, size_t len, const char *provider, char *uri,
			  size_t size);
/* {"code": "...", "errorDescription": "..."}: code (required) and the
 * description (optional, "" when absent), truncated to fit. */
int intune_json_result(const uint8_t *buf, size_t len, char *code, size_t code_size, char *desc,
		       size_t desc_size);

/* One entry of downloadRevocationRequests' {"value": [...]}. */
struct intune_revocation {
	char context[512]; /* requestContext, echoed in the upload */
	char serial[80];
	char issuer[256];
};

/* {"value": [{"requestContext", "serialNumber", "issuerName", ...}]}: at most
 * max entries into out (the rest ignored); -SGW_EPARSE when an entry lacks
 * requestContext or serialNumber or a field does not fit. */
int intune_json_revocations(const uint8_t *buf, size_t len, struct intune_revocation *out,
			    size_t max, size_t *ret_n);

#endif
