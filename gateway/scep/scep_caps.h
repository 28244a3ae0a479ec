/* scep_caps.h: GetCACaps text: one keyword per line, LF only, no duplicates. */
#ifndef SGW_SCEP_CAPS_H
#define SGW_SCEP_CAPS_H

#include <stddef.h>

/* Writes the text for SCEP_CAP_* bits into buf (NUL-terminated); returns its
 * length or -SGW_EINVAL when it does not fit. */
int scep_caps_text(unsigned caps, char *buf, size_t size);

#endif
