/* scep_caps.h: GetCACaps text: one keyword per line, LF only, no duplicates. */
#ifndef SGW_SCEP_CAPS_H
#define SGW_SCEP_CAPS_H

#include <stddef.h>

/* Writes the text for SCEP_CAP_* bits into buf (NUL-terminated); returns its
 * length or -SGW_EINVAL when it does not fit. */
int scep_caps_text(unsigned caps, char *buf, size_t size);

/* 1 when a SHA digest (NID_sha1 ... NID_sha512) is accepted under `caps`: the
 * profile announces its keyword, or announces no digest at all (nothing was
 * promised, every SHA is taken, as before digests were announced); 0 for any
 * other digest (MD5 is the profile's allow_md5, not a capability). */
int scep_caps_digest_ok(unsigned caps, int digest_nid);

#endif
