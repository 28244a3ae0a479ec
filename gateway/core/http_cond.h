/* http_cond.h: HTTP conditional requests (RFC 9110 8.8, 13) for what the
 * gateway publishes (the CRL at /crl/): the HTTP-date of Last-Modified and
 * If-Modified-Since, and the entity-tag list of If-None-Match.  Pure: no I/O,
 * no logging, no globals (docs/conventions.md 10); fuzzed by
 * tests/fuzz/fuzz_http_cond.c. */
#ifndef SGW_HTTP_COND_H
#define SGW_HTTP_COND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTP_DATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" and its NUL */

/* t as an IMF-fixdate into buf (HTTP_DATE_LEN bytes at least): 0, or
 * -SGW_EINVAL for a time outside years 1970..9999 or a short buffer. */
int http_date_format(time_t t, char *buf, size_t size);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", the one form a sender
 * may generate) into *ret: 0, or -SGW_EINVAL for anything else, including
 * the obsolete RFC 850 and asctime forms (a recipient then ignores the
 * header and sends the whole representation, which is always safe). */
int http_date_parse(const uint8_t *s, size_t len, time_t *ret);

/* Does an If-None-Match field value (`*`, or a comma-separated list of
 * entity-tags, weak or strong) match etag (a strong entity-tag with its
 * quotes)?  Weak comparison (RFC 9110 13.1.2): W/ is ignored.  1 when it
 * matches, 0 when not, -SGW_EINVAL when the list is malformed (then the
 * condition is ignored as well). */
int http_etag_match(const uint8_t *list, size_t len, const char *etag);

#endif
