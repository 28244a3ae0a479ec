/* b64.h: the one base64 (RFC 4648 4) and base64url (RFC 4648 5) encoder and
 * decoder of scepgw, and its one hex decoder.  Pure: no I/O, no logging, no
 * globals (docs/conventions.md 10); fuzzed by tests/fuzz/fuzz_b64.c.  Size caps are the caller's:
 * each caller knows what it is decoding (a query, a JWS member, an EJBCA JSON field). */
#ifndef SGW_B64_H
#define SGW_B64_H

#include <stddef.h>
#include <stdint.h>

enum b64_alphabet {
	B64_STD, /* RFC 4648 4: A-Z a-z 0-9 + / */
	B64_URL, /* RFC 4648 5: A-Z a-z 0-9 - _ */
	B64_ALPHABET_MAX
};

/* What b64_decode() accepts.  b64_encode() writes what the same mode reads:
 * '=' padding, except with B64_STRICT_NOPAD, and never a line break. */
enum b64_mode {
	/* The length is a multiple of 4, '=' appears only as the last one or
	 * two characters, nothing else is outside the alphabet.  Non-zero
	 * unused bits before the padding are accepted ("QR==" is "A"; RFC 4648
	 * 3.5 lets a decoder do either).  EJBCA REST JSON. */
	B64_STRICT,
	/* No '=' at all, no length 4k+1, nothing outside the alphabet, and the
	 * unused bits of the last character are zero: one text per value.
	 * JWS/ACME (RFC 7515 2). */
	B64_STRICT_NOPAD,
	/* What SCEP clients send as the GET message= (RFC 8894 4.1): CR and LF
	 * are skipped anywhere, with B64_STD a ' ' reads as '+' (form-decoding
	 * damage), padding may be missing or short; at most two '=', with no
	 * data after them; unused bits are not checked; no length 4k+1 of data. */
	B64_LENIENT,
	B64_MODE_MAX
};

/* *ret is malloc'd and NUL-terminated.  -SGW_EINVAL for a bad alphabet or
 * mode, or an input too large to encode. */
int b64_encode(const uint8_t *in, size_t len, enum b64_alphabet a, enum b64_mode m, char **ret);

/* *ret is malloc'd (a valid pointer even when *ret_len is 0: an empty input
 * decodes to nothing in every mode; callers that need data check *ret_len).
 * -SGW_EPARSE for input the mode refuses, -SGW_EINVAL for a bad alphabet or
 * mode.  Reads exactly len bytes of in, which need not be NUL-terminated. */
int b64_decode(const char *in, size_t len, enum b64_alphabet a, enum b64_mode m, uint8_t **ret,
	       size_t *ret_len);

/* The one hex helper: the value of a hex digit (either case), or -1. */
int b64_hex_nibble(int c);
/* Exactly out_len bytes from exactly 2 * out_len hex digits of in (which need
 * not be NUL-terminated); -SGW_EPARSE otherwise.  out is written even on
 * failure. */
int b64_hex_decode(const char *in, size_t len, uint8_t *out, size_t out_len);

#endif
