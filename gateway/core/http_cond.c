/* http_cond.c: HTTP-dates and If-None-Match lists (RFC 9110 5.6.7, 8.8.3,
 * 13.1.2), for conditional GET and HEAD of what the gateway publishes. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "http_cond.h"

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int
http_date_format(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (size < HTTP_DATE_LEN || gmtime_r(&t, &tm) == NULL || tm.tm_year < 70 ||
	    tm.tm_year > 9999 - 1900)
		return -SGW_EINVAL;
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* n decimal digits at s: the value, or -1. */
static int
digits(const uint8_t *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
name_index(const uint8_t *s, const char (*names)[4], int n)
{
	for (int i = 0; i < n; i++)
		if (memcmp(s, names[i], 3) == 0)
			return i;
	return -1;
}

static int
days_in(int mon, int year)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return d[mon] + (mon == 1 && leap);
}

/* "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions, 29 bytes. */
int
http_date_parse(const uint8_t *s, size_t len, time_t *ret)
{
	struct tm tm = {0};
	int wday;
	time_t t;

	if (len != HTTP_DATE_LEN - 1 || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -SGW_EINVAL;
	wday = name_index(s, days, 7);
	tm.tm_mday = digits(s + 5, 2);
	tm.tm_mon = name_index(s + 8, months, 12);
	tm.tm_year = digits(s + 12, 4);
	tm.tm_hour = digits(s + 17, 2);
	tm.tm_min = digits(s + 20, 2);
	tm.tm_sec = digits(s + 23, 2);
	if (wday < 0 || tm.tm_mon < 0 || tm.tm_year < 1970 || tm.tm_mday < 1 ||
	    tm.tm_mday > days_in(tm.tm_mon, tm.tm_year) || tm.tm_hour < 0 || tm.tm_hour > 23 ||
	    tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -SGW_EINVAL;
	tm.tm_year -= 1900;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_wday != wday)
		return -SGW_EINVAL;
	*ret = t;
	return 0;
}

static size_t
skip_ows(const uint8_t *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/* etagc: %x21 / %x23-7E / obs-text (RFC 9110 8.8.3) */
static int
etagc(uint8_t c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

int
http_etag_match(const uint8_t *list, size_t len, const char *etag)
{
	size_t i = skip_ows(list, len, 0), start, want = strlen(etag);
	int match = 0, n = 0;

	if (i < len && list[i] == '*')
		return skip_ows(list, len, i + 1) == len ? 1 : -SGW_EINVAL;
	while (i < len) {
		if (list[i] == ',') { /* empty list elements are allowed (RFC 9110 5.6.1) */
			i = skip_ows(list, len, i + 1);
			continue;
		}
		if (len - i >= 2 && list[i] == 'W' && list[i + 1] == '/')
			i += 2;
		if (i >= len || list[i] != '"')
			return -SGW_EINVAL;
		start = i++;
		while (i < len && etagc(list[i]))
			i++;
		if (i >= len || list[i] != '"')
			return -SGW_EINVAL;
		i++;
		if (i - start == want && memcmp(list + start, etag, want) == 0)
			match = 1;
		n++;
		i = skip_ows(list, len, i);
		if (i < len && list[i] != ',')
			return -SGW_EINVAL;
	}
	return n > 0 ? match : -SGW_EINVAL;
}
