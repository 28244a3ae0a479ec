/* scep_caps.c: GetCACaps text (RFC 8894 3.5.2).  Fixed order, LF only, each
 * keyword once, so old clients that split on LF read it.  And the digests a
 * profile accepts: the ones it announces. */
#include <stddef.h>
#include <string.h>

#include <openssl/obj_mac.h>

#include "cfg.h"
#include "err.h"
#include "scep_caps.h"

static const struct {
	unsigned bit;
	const char *word;
} cap_words[] = {
    {SCEP_CAP_POSTPKIOPERATION, "POSTPKIOperation"},
    {SCEP_CAP_SHA1, "SHA-1"},
    {SCEP_CAP_SHA224, "SHA-224"},
    {SCEP_CAP_SHA256, "SHA-256"},
    {SCEP_CAP_SHA384, "SHA-384"},
    {SCEP_CAP_SHA512, "SHA-512"},
    {SCEP_CAP_AES, "AES"},
    {SCEP_CAP_DES3, "DES3"},
    {SCEP_CAP_RENEWAL, "Renewal"},
    {SCEP_CAP_GETNEXTCACERT, "GetNextCACert"},
    {SCEP_CAP_SCEPSTANDARD, "SCEPStandard"},
};

int
scep_caps_text(unsigned caps, char *buf, size_t size)
{
	size_t off = 0, n;

	if (buf == NULL || size == 0)
		return -SGW_EINVAL;
	for (size_t i = 0; i < sizeof(cap_words) / sizeof(cap_words[0]); i++) {
		if (!(caps & cap_words[i].bit))
			continue;
		n = strlen(cap_words[i].word);
		if (off + n + 1 >= size)
			return -SGW_EINVAL;
		memcpy(buf + off, cap_words[i].word, n);
		buf[off + n] = '\n';
		off += n + 1;
	}
	buf[off] = '\0';
	return (int)off;
}

static const struct {
	int nid;
	unsigned bit;
} digest_caps[] = {
    {NID_sha1, SCEP_CAP_SHA1},	   {NID_sha224, SCEP_CAP_SHA224}, {NID_sha256, SCEP_CAP_SHA256},
    {NID_sha384, SCEP_CAP_SHA384}, {NID_sha512, SCEP_CAP_SHA512},
};

int
scep_caps_digest_ok(unsigned caps, int digest_nid)
{
	unsigned listed = 0, bit = 0;

	for (size_t i = 0; i < sizeof(digest_caps) / sizeof(digest_caps[0]); i++) {
		listed |= digest_caps[i].bit;
		if (digest_caps[i].nid == digest_nid)
			bit = digest_caps[i].bit;
	}
	if (bit == 0)
		return 0;
	return (caps & listed) == 0 || (caps & bit) != 0;
}
