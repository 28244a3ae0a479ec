/* b64.c: base64 and base64url (RFC 4648 4, 5), strict or lenient (b64.h). */
#include <stdint.h>
#include <stdlib.h>

#include "b64.h"
#include "err.h"

static const char *const alphabets[B64_ALPHABET_MAX] = {
    [B64_STD] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    [B64_URL] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

/* The longest input whose encoding and NUL fit in a size_t. */
#define B64_ENCODE_MAX (SIZE_MAX / 4 * 3 - 3)

static int
args_ok(enum b64_alphabet a, enum b64_mode m, const void *in, size_t len)
{
	return (unsigned int)a < B64_ALPHABET_MAX && (unsigned int)m < B64_MODE_MAX &&
	       (in != NULL || len == 0);
}

static size_t
encoded_len(size_t len, enum b64_mode m)
{
	if (m != B64_STRICT_NOPAD || len % 3 == 0)
		return (len + 2) / 3 * 4;
	return len / 3 * 4 + len % 3 + 1;
}

int
b64_encode(const uint8_t *in, size_t len, enum b64_alphabet a, enum b64_mode m, char **ret)
{
	const char *abc;
	char *out, *o;
	uint32_t v;
	size_t i;

	if (!args_ok(a, m, in, len) || len > B64_ENCODE_MAX)
		return -SGW_EINVAL;
	if ((out = malloc(encoded_len(len, m) + 1)) == NULL)
		return -SGW_ENOMEM;
	abc = alphabets[a];
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = abc[v >> 6 & 63];
		*o++ = abc[v & 63];
	}
	if (i < len) { /* one or two bytes left: two or three characters */
		v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		if (i + 1 < len)
			*o++ = abc[v >> 6 & 63];
		else if (m != B64_STRICT_NOPAD)
			*o++ = '=';
		if (m != B64_STRICT_NOPAD)
			*o++ = '=';
	}
	*o = '\0';
	*ret = out;
	return 0;
}

/* The 6-bit value of c in alphabet a, or -1. */
static int
sextet(unsigned char c, enum b64_alphabet a)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (unsigned char)alphabets[a][62])
		return 62;
	if (c == (unsigned char)alphabets[a][63])
		return 63;
	return -1;
}

/* The value of in[i] under mode m: a sextet, or SKIP (line break), PAD ('=')
 * or -1 (foreign). */
#define SKIP 64
#define PAD 65
static int
classify(unsigned char c, enum b64_alphabet a, enum b64_mode m)
{
	if (m == B64_LENIENT && (c == '\r' || c == '\n'))
		return SKIP;
	if (m != B64_STRICT_NOPAD && c == '=')
		return PAD;
	if (m == B64_LENIENT && a == B64_STD && c == ' ')
		return 62;
	return sextet(c, a);
}

int
b64_decode(const char *in, size_t len, enum b64_alphabet a, enum b64_mode m, uint8_t **ret,
	   size_t *ret_len)
{
	uint32_t acc = 0;
	unsigned int bits = 0;
	size_t n = 0, pad = 0;
	uint8_t *out;
	int v, r = -SGW_EPARSE;

	if (!args_ok(a, m, in, len))
		return -SGW_EINVAL;
	if ((m == B64_STRICT && len % 4 != 0) || (m == B64_STRICT_NOPAD && len % 4 == 1))
		return -SGW_EPARSE;
	/* len characters carry at most floor(3 * len / 4) <= len / 4 * 3 + 2 bytes */
	if ((out = malloc(len / 4 * 3 + 3)) == NULL)
		return -SGW_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		v = classify((unsigned char)in[i], a, m);
		if (v == SKIP)
			continue;
		if (v == PAD) {
			pad++;
			continue;
		}
		if (v < 0 || pad > 0)
			goto out; /* foreign character, or data after padding */
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* 6 bits left is 4k+1 data characters.  With B64_STRICT the length
	 * check above and pad <= 2 put the padding exactly where it belongs. */
	if (bits >= 6 || pad > 2)
		goto out;
	if (m == B64_STRICT_NOPAD && (acc & ((1u << bits) - 1)) != 0)
		goto out; /* not the canonical encoding */
	*ret = out;
	*ret_len = n;
	out = NULL;
	r = 0;
out:
	free(out);
	return r;
}

int
b64_hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
b64_hex_decode(const char *in, size_t len, uint8_t *out, size_t out_len)
{
	if (len != 2 * out_len)
		return -SGW_EPARSE;
	for (size_t i = 0; i < out_len; i++) {
		int hi = b64_hex_nibble((unsigned char)in[2 * i]);
		int lo = b64_hex_nibble((unsigned char)in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -SGW_EPARSE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
